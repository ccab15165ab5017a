package poll

import (
	"testing"
	"time"
)

// A condition is checked first after firstInterval, then ever less often
// up to maxInterval: a quick condition is seen soon after it holds, and a
// long wait (one that starts a process or asks a cluster on every check)
// does not starve the servers under test on a 2-core machine.
const (
	firstInterval = 10 * time.Millisecond
	maxInterval   = 200 * time.Millisecond
)

// Eventually polls cond until it reports true or within has passed, then
// fails the test naming what it waited for and, when cond gave one, the
// last state it saw (what to look at first when the wait fails).
func Eventually(t testing.TB, within time.Duration, what string, cond func() (ok bool, state string)) {
	t.Helper()
	if state, ok := Until(within, cond); !ok {
		if state != "" {
			t.Fatalf("not within %v: %s; last seen: %s", within, what, state)
		}
		t.Fatalf("not within %v: %s", within, what)
	}
}

// True is Eventually for a condition that has no state worth reporting.
func True(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	Eventually(t, within, what, func() (bool, string) { return cond(), "" })
}

// Until polls cond until it reports true or within has passed, and returns
// whether it did and the last state it reported. It is for waits that are
// not a test failure by themselves (a benchmark, a helper that returns an
// error).
func Until(within time.Duration, cond func() (ok bool, state string)) (string, bool) {
	deadline := time.Now().Add(within)
	interval := firstInterval
	for {
		ok, state := cond()
		if ok {
			return state, true
		}
		if time.Now().After(deadline) {
			return state, false
		}
		time.Sleep(interval)
		interval = min(interval*3/2, maxInterval)
	}
}
