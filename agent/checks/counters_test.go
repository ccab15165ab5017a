package checks

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestThresholds(t *testing.T) {
	const (
		P = "passing"
		W = "warning"
		C = "critical"
		_ = ""
	)
	for _, tc := range []struct {
		name    string
		d       Definition
		results []string
		want    []string // "" where the result must not change the check
	}{
		{"no thresholds: every result counts", Definition{},
			[]string{P, C, W, C, P}, []string{P, C, W, C, P}},
		{"failures_before_critical=3: passing for two failures", Definition{FailuresBeforeCritical: 3},
			[]string{P, C, C, C, C, P}, []string{P, "", "", C, C, P}},
		{"a success resets the failure count", Definition{FailuresBeforeCritical: 2},
			[]string{C, P, C, P, C, C}, []string{"", P, "", P, "", C}},
		{"failures_before_warning warns first", Definition{FailuresBeforeWarning: 1, FailuresBeforeCritical: 3},
			[]string{P, C, C, C}, []string{P, W, W, C}},
		{"success_before_passing=3", Definition{SuccessBeforePassing: 3},
			[]string{P, P, P, P, C, P, P, P}, []string{"", "", P, P, C, "", "", P}},
		{"a warning result counts as a success", Definition{SuccessBeforePassing: 2, FailuresBeforeCritical: 2},
			[]string{W, W, C, W, C, C}, []string{"", W, "", "", "", C}},
		{"thresholds of 1 act at once", Definition{SuccessBeforePassing: 1, FailuresBeforeCritical: 1},
			[]string{C, P}, []string{C, P}},
	} {
		th := newThresholds(tc.d)
		var got []string
		for _, r := range tc.results {
			s, ok := th.observe(r)
			if !ok {
				s = ""
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: results %v reported %q, want %q", tc.name, tc.results, got, tc.want)
		}
	}
}

// scriptedServer answers the n-th request (from 1) with code(n), and
// records when the check reported something relative to its requests.
type scriptedServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newScriptedServer(t *testing.T, code func(n int64) int) *scriptedServer {
	s := &scriptedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code(s.requests.Add(1)))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestFailuresBeforeCriticalEndToEnd runs a real HTTP check against a
// server that passes twice and then fails: with failures_before_warning=2
// and failures_before_critical=3 the check must report passing, then
// warning on the 2nd failure (4th request) and critical on the 3rd (5th).
func TestFailuresBeforeCriticalEndToEnd(t *testing.T) {
	srv := newScriptedServer(t, func(n int64) int {
		if n <= 2 {
			return 200
		}
		return 500
	})
	var atRequest []int64 // server's request count when each update came
	var statuses []string
	done := make(chan struct{})
	r, _ := newTestRunner(t, Config{Notify: func(u Update) {
		atRequest = append(atRequest, srv.requests.Load())
		statuses = append(statuses, u.Status)
		if u.Status == "critical" {
			close(done)
		}
	}})
	if err := r.Add(Definition{CheckID: "web", HTTP: srv.URL, Interval: 50 * time.Millisecond,
		FailuresBeforeWarning: 2, FailuresBeforeCritical: 3}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("no critical report; got %v", statuses)
	}
	r.Remove("web") // Notify ran on the check's goroutine; this orders our reads after it
	if want := []string{"passing", "warning", "critical"}; !slices.Equal(statuses, want) {
		t.Fatalf("reported %v, want %v", statuses, want)
	}
	if want := []int64{1, 4, 5}; !slices.Equal(atRequest, want) {
		t.Errorf("reports came after requests %v, want %v", atRequest, want)
	}
}

// TestSuccessBeforePassingEndToEnd: a new check (critical) against a
// healthy server turns passing on the 3rd success, not before.
func TestSuccessBeforePassingEndToEnd(t *testing.T) {
	srv := newScriptedServer(t, func(int64) int { return 200 })
	var atRequest []int64
	rec := &recorder{}
	r, _ := newTestRunner(t, Config{Notify: func(u Update) {
		atRequest = append(atRequest, srv.requests.Load())
		rec.notify(u)
	}})
	if err := r.Add(Definition{CheckID: "web", HTTP: srv.URL, Interval: 50 * time.Millisecond, SuccessBeforePassing: 3}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, "web", "passing", 5*time.Second)
	r.Remove("web")
	if got := rec.statuses("web"); !slices.Equal(got, []string{"passing"}) {
		t.Fatalf("reported %v, want one passing", got)
	}
	if atRequest[0] != 3 {
		t.Errorf("passing reported after request %d, want 3", atRequest[0])
	}
}
