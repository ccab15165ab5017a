package poll

import (
	"testing"
	"time"
)

func TestUntilReturnsWhenTheConditionHolds(t *testing.T) {
	n := 0
	state, ok := Until(time.Second, func() (bool, string) { n++; return n == 3, "n" })
	if !ok || n != 3 || state != "n" {
		t.Fatalf("Until = %q, %v after %d polls; want it to stop at the third", state, ok, n)
	}
}

func TestUntilGivesUpWithTheLastState(t *testing.T) {
	start := time.Now()
	state, ok := Until(30*time.Millisecond, func() (bool, string) { return false, "still waiting" })
	if ok || state != "still waiting" {
		t.Fatalf("Until = %q, %v; want the last state and false", state, ok)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatalf("Until gave up after %v, before its deadline", time.Since(start))
	}
}
