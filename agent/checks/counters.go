package checks

import "github.com/heraldhq/herald/event"

// thresholds implements Consul's flap prevention for probing checks:
// success_before_passing, failures_before_warning and
// failures_before_critical. A result only changes the check once enough
// results of its kind have come in a row; until then the check keeps its
// status and its output, exactly as if the run had not happened.
//
// As in Consul, a warning result (HTTP 429, script exit code 1) counts as a
// success: it resets the failure count and, once success_before_passing is
// reached, is reported as warning. A critical result resets the success
// count; it is reported as critical from the failures_before_critical-th
// failure in a row, and as warning from the failures_before_warning-th
// (which defaults to failures_before_critical, so no warning is reported
// unless asked for). Thresholds of 0 and 1 both mean "at once".
//
// TTL and alias checks do not go through thresholds: their status is set by
// someone else who already decided it.
type thresholds struct {
	successBeforePassing   int
	failuresBeforeWarning  int
	failuresBeforeCritical int

	successes int // consecutive passing or warning results
	failures  int // consecutive critical results
}

// newThresholds takes the thresholds of d, with Consul's default for
// failures_before_warning.
func newThresholds(d Definition) *thresholds {
	t := &thresholds{
		successBeforePassing:   d.SuccessBeforePassing,
		failuresBeforeWarning:  d.FailuresBeforeWarning,
		failuresBeforeCritical: d.FailuresBeforeCritical,
	}
	if t.failuresBeforeWarning == 0 {
		t.failuresBeforeWarning = t.failuresBeforeCritical
	}
	return t
}

// observe counts one result and returns the status to report for it, with
// ok false when a threshold has not been reached and the check must stay
// as it is.
func (t *thresholds) observe(result string) (status string, ok bool) {
	if result == event.HealthPassing || result == event.HealthWarning {
		t.successes++
		t.failures = 0
		if t.successes >= t.successBeforePassing {
			return result, true
		}
		return "", false
	}
	t.failures++
	t.successes = 0
	if t.failures >= t.failuresBeforeCritical {
		return event.HealthCritical, true
	}
	if t.failures >= t.failuresBeforeWarning {
		return event.HealthWarning, true
	}
	return "", false
}
