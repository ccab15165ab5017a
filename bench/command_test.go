package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseScenarioClients(t *testing.T) {
	known := []string{"a", "b", "w"}
	defaults := map[string]int{"a": 4, "b": 2}
	got, err := ParseScenarioClients(" w, a@8,b", known, defaults, "w takes -w instead")
	if err != nil || len(got) != 3 || got["a"] != 8 || got["b"] != 2 || got["w"] != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "a@0", "a@x", "w@3"} {
		if _, err := ParseScenarioClients(bad, known, defaults, "w takes -w instead"); err == nil {
			t.Errorf("%q: no error", bad)
		} else if bad == "w@3" && !strings.Contains(err.Error(), "(w takes -w instead)") {
			t.Errorf("%q: %v lacks the hint", bad, err)
		}
	}
}

func TestProgress(t *testing.T) {
	r := Result{OpsPerSec: 1234.4, P50: 1500 * time.Microsecond, P99: 20 * time.Millisecond, Errors: 3}
	if got, want := r.Progress("q"), "    1234 q/s  p50 1.50ms   p99 20.0ms   errors 3"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
