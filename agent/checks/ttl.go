package checks

import (
	"errors"
	"fmt"
	"time"

	"github.com/heraldhq/herald/event"
)

// ErrNotTTL matches (with errors.Is) the error UpdateTTL returns for a check
// that does not run or is not a TTL check.
var ErrNotTTL = errors.New("check does not have associated TTL")

// notTTLError carries Consul's wording, which clients of the TTL endpoints
// see, while matching ErrNotTTL.
type notTTLError struct{ checkID string }

func (e *notTTLError) Error() string {
	return fmt.Sprintf("CheckID %q does not have associated TTL", e.checkID)
}

func (e *notTTLError) Is(target error) bool { return target == ErrNotTTL }

// ttlUpdate is one UpdateTTL call, handed to the check's goroutine; done is
// closed once it has been applied.
type ttlUpdate struct {
	status, output string
	done           chan struct{}
}

// UpdateTTL sets the status (passing, warning or critical) and output of
// the TTL check checkID and restarts its TTL: it is what the agent's
// /v1/agent/check/pass, warn, fail and update endpoints do. The output is
// capped at the check's OutputMaxSize. A transition is reported at once, an
// output-only change like any other (see Config.OutputUpdateInterval).
// When UpdateTTL returns, Status reflects the update.
func (r *Runner) UpdateTTL(checkID, status, output string) error {
	switch status {
	case event.HealthPassing, event.HealthWarning, event.HealthCritical:
	default:
		return fmt.Errorf("Invalid check status %q: must be passing, warning or critical", status)
	}
	r.mu.Lock()
	c := r.checks[checkID]
	r.mu.Unlock()
	if c == nil || c.kind != KindTTL {
		return &notTTLError{checkID: checkID}
	}
	u := ttlUpdate{status: status, output: capOutput(output, c.def.OutputMaxSize), done: make(chan struct{})}
	select {
	case c.ttlUpdates <- u:
	case <-c.done:
		// Removed (or replaced) meanwhile.
		return &notTTLError{checkID: checkID}
	}
	<-u.done
	return nil
}

// runTTL runs a TTL check: it takes the updates and turns critical when
// none came for a TTL. The TTL runs from the check's start, so a check
// nobody ever updates also expires (its output then says so).
func (c *check) runTTL() {
	expiry := time.NewTimer(c.def.TTL)
	defer expiry.Stop()
	var lastOutput string
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-timerC(c.flush):
			c.flushOutput()
		case <-timerC(c.dereg):
			c.deregDue()
		case u := <-c.ttlUpdates:
			lastOutput = u.output
			c.set(u.status, u.output)
			expiry.Reset(c.def.TTL)
			close(u.done)
		case <-expiry.C:
			c.log.Warn("check missed its TTL, now critical", "ttl", c.def.TTL)
			c.set(event.HealthCritical, expiredOutput(lastOutput))
		}
	}
}

// expiredOutput is the output of an expired TTL check: it keeps what the
// application last said, as Consul does, because that is often why it
// stopped reporting.
func expiredOutput(last string) string {
	if last == "" {
		return "TTL expired"
	}
	return "TTL expired (last output before timeout follows): " + last
}
