package checks

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
)

// counterServer answers 200 with a body that changes on every request (the
// request's number), or fails with 500 while failing is set.
type counterServer struct {
	*httptest.Server
	requests atomic.Int64
	failing  atomic.Bool
}

func newCounterServer(t *testing.T) *counterServer {
	s := &counterServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		if s.failing.Load() {
			w.WriteHeader(500)
		}
		fmt.Fprintf(w, "request %d", n)
	}))
	t.Cleanup(s.Close)
	return s
}

// requestNumber extracts the request number from a counterServer output.
func requestNumber(t *testing.T, output string) int {
	t.Helper()
	i := strings.LastIndex(output, "request ")
	if i < 0 {
		t.Fatalf("no request number in %q", output)
	}
	n, err := strconv.Atoi(output[i+len("request "):])
	if err != nil {
		t.Fatalf("bad request number in %q", output)
	}
	return n
}

func TestInitialStatusNotReportedAndDefaultsToCritical(t *testing.T) {
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "a", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(Definition{CheckID: "b", TTL: time.Hour, Status: "passing"}); err != nil {
		t.Fatal(err)
	}
	if s, _, ok := r.Status("a"); !ok || s != "critical" {
		t.Errorf("a: status %q ok %v, want critical", s, ok)
	}
	if s, _, ok := r.Status("b"); !ok || s != "passing" {
		t.Errorf("b: status %q ok %v, want passing", s, ok)
	}
	if _, _, ok := r.Status("nope"); ok {
		t.Error("unknown check: Status ok")
	}
	r.Stop()
	if n := len(rec.of("a")) + len(rec.of("b")); n != 0 {
		t.Errorf("initial statuses were reported (%d updates)", n)
	}
}

// TestRemoveStopsTheCheck: after Remove the check neither probes nor
// reports, and Status no longer knows it.
func TestRemoveStopsTheCheck(t *testing.T) {
	srv := newCounterServer(t)
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "web", HTTP: srv.URL, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, "web", "passing", slack)
	r.Remove("web")
	if _, _, ok := r.Status("web"); ok {
		t.Error("Status knows a removed check")
	}
	reports, requests := len(rec.of("web")), srv.requests.Load()
	srv.failing.Store(true)
	time.Sleep(100 * time.Millisecond) // ten intervals in which nothing may happen
	// (Beyond the one probe that may have been on the wire at Remove.)
	if got := srv.requests.Load(); got > requests+1 {
		t.Errorf("removed check kept probing: %d requests, then %d", requests, got)
	}
	if got := len(rec.of("web")); got != reports {
		t.Errorf("removed check kept reporting: %d updates, then %d", reports, got)
	}
	r.Remove("web") // removing twice is harmless
}

// TestReplaceKeepsStatus: adding a check with a running check's ID
// replaces it without resetting its status to critical (as a reload must
// not make healthy services flap), and the new definition takes effect.
func TestReplaceKeepsStatus(t *testing.T) {
	srv := newCounterServer(t)
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "web", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateTTL("web", "passing", "fine"); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(Definition{CheckID: "web", HTTP: srv.URL, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if s, out, _ := r.Status("web"); s != "passing" || out != "fine" {
		t.Errorf("after replacement: %q %q, want the old passing %q", s, out, "fine")
	}
	// The HTTP check now runs: its output replaces the TTL's.
	poll.True(t, slack, "the HTTP check's first output", func() bool {
		_, out, _ := r.Status("web")
		return strings.HasPrefix(out, "HTTP GET ")
	})
	if err := r.UpdateTTL("web", "passing", ""); !errors.Is(err, ErrNotTTL) {
		t.Errorf("UpdateTTL on the replaced check: %v, want ErrNotTTL", err)
	}
	r.Stop()
	for _, u := range rec.of("web") {
		if u.Status != "passing" {
			t.Errorf("replacement reported %q", u.Status)
		}
	}
}

func TestStop(t *testing.T) {
	srv := newCounterServer(t)
	r, _ := newTestRunner(t, Config{})
	for i := range 3 {
		if err := r.Add(Definition{CheckID: fmt.Sprint(i), HTTP: srv.URL, Interval: 10 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	poll.True(t, slack, "some probes", func() bool { return srv.requests.Load() >= 3 })
	r.Stop()
	n := srv.requests.Load()
	// A probe on the wire when Stop cancelled it may still reach the
	// server, one per check at most; checks that kept probing every 10 ms
	// would send dozens in this time.
	time.Sleep(300 * time.Millisecond)
	if got := srv.requests.Load(); got > n+3 {
		t.Errorf("checks kept probing after Stop: %d requests, then %d", n, got)
	}
	if err := r.Add(Definition{CheckID: "late", TTL: time.Second}); !errors.Is(err, ErrStopped) {
		t.Errorf("Add after Stop: %v, want ErrStopped", err)
	}
	r.Stop() // twice is harmless
}

func TestAddRejects(t *testing.T) {
	r, _ := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "x", HTTP: "http://x"}); err == nil || !strings.Contains(err.Error(), "Interval must be > 0") {
		t.Errorf("invalid definition: %v", err)
	}
	if err := r.Add(Definition{CheckID: "x", AliasService: "web"}); err == nil || !strings.Contains(err.Error(), "AliasSource") {
		t.Errorf("alias without a source: %v", err)
	}
	if _, _, ok := r.Status("x"); ok {
		t.Error("a rejected check runs")
	}
}

// checkCoalesced asserts that reports (of a check whose status stayed
// passing) are the transition to passing followed by output-only reports
// at most one per every, each newer than the last.
func checkCoalesced(t *testing.T, reports []recorded, every time.Duration, number func(string) int) {
	t.Helper()
	if len(reports) < 2 || reports[0].Status != "passing" {
		t.Fatalf("reports %v, want the transition to passing and output updates", reports)
	}
	outputs := reports[1:]
	span := time.Since(reports[0].at)
	if max := int(span / every); len(outputs) > max {
		t.Errorf("%d output reports in %v, want at most one per %v", len(outputs), span, every)
	}
	prev := reports[0]
	for _, u := range outputs {
		if u.Status != "passing" {
			t.Errorf("output report with status %q (%q)", u.Status, u.Output)
		}
		if gap := u.at.Sub(prev.at); gap < every-10*time.Millisecond {
			t.Errorf("output reports %v apart, want at least %v", gap, every)
		}
		if number(u.Output) <= number(prev.Output) {
			t.Errorf("output went backwards: %q after %q", u.Output, prev.Output)
		}
		prev = u
	}
}

// TestOutputCoalescing: a check whose output changes on every run while
// its status stays passing reports the output at most once per
// OutputUpdateInterval, and each report carries the latest output.
func TestOutputCoalescing(t *testing.T) {
	const every = 200 * time.Millisecond
	srv := newCounterServer(t)
	var r *Runner
	var mu sync.Mutex
	var reports []recorded
	stale := 0 // reports whose output was not the check's current one
	r, _ = newTestRunner(t, Config{OutputUpdateInterval: every, Notify: func(u Update) {
		_, current, _ := r.Status(u.CheckID)
		mu.Lock()
		defer mu.Unlock()
		if current != u.Output {
			stale++
		}
		reports = append(reports, recorded{Update: u, at: time.Now()})
	}})
	// A generous timeout: a probe that a busy machine answers late must not
	// turn the check critical, a transition that is reported at once.
	if err := r.Add(Definition{CheckID: "web", HTTP: srv.URL, Interval: 50 * time.Millisecond, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	poll.True(t, 10*time.Second, "25 probes", func() bool { return srv.requests.Load() >= 25 })
	r.Remove("web")

	mu.Lock()
	defer mu.Unlock()
	checkCoalesced(t, reports, every, func(out string) int { return requestNumber(t, out) })
	if runs := srv.requests.Load(); int64(2*len(reports)) > runs {
		t.Errorf("%d reports for %d runs whose output all differed", len(reports), runs)
	}
	if stale > 0 {
		t.Errorf("%d reports did not carry the check's latest output", stale)
	}
}

// TestOutputCoalescingTTL: the same for output-only TTL updates, which
// the test drives itself, so that the count of updates is exact.
func TestOutputCoalescingTTL(t *testing.T) {
	const every = 100 * time.Millisecond
	r, rec := newTestRunner(t, Config{OutputUpdateInterval: every})
	if err := r.Add(Definition{CheckID: "app", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n := 0
	for ; time.Since(start) < 5*every; n++ {
		if err := r.UpdateTTL("app", "passing", fmt.Sprintf("update %d", n)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	// The last output is reported within one more interval.
	last := fmt.Sprintf("update %d", n-1)
	poll.True(t, every+slack, "the last output's report", func() bool {
		us := rec.of("app")
		return len(us) > 0 && us[len(us)-1].Output == last
	})
	r.Remove("app")
	reports := rec.of("app")
	checkCoalesced(t, reports, every, func(out string) int {
		n, _ := strconv.Atoi(strings.TrimPrefix(out, "update "))
		return n
	})
	if len(reports) < 3 {
		t.Errorf("%d reports for %d output changes over %v, want the coalesced ones", len(reports), n, 5*every)
	}
}

// TestOutputEveryChangeWithoutInterval: OutputUpdateInterval 0 reports
// every output change, and only changes.
func TestOutputEveryChangeWithoutInterval(t *testing.T) {
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "app", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	outputs := []string{"a", "b", "b", "c", "c", "c", "a"}
	for _, out := range outputs {
		if err := r.UpdateTTL("app", "passing", out); err != nil {
			t.Fatal(err)
		}
	}
	r.Remove("app")
	var got []string
	for _, u := range rec.of("app") {
		got = append(got, u.Output)
	}
	if want := []string{"a", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Errorf("reported outputs %q, want %q", got, want)
	}
}

// TestTransitionsNotCoalesced: with a long OutputUpdateInterval, output
// churn reports nothing, but status transitions are reported at once.
func TestTransitionsNotCoalesced(t *testing.T) {
	const interval = 100 * time.Millisecond
	srv := newCounterServer(t)
	r, rec := newTestRunner(t, Config{OutputUpdateInterval: time.Hour})
	if err := r.Add(Definition{CheckID: "web", HTTP: srv.URL, Interval: interval}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, "web", "passing", interval+slack)
	poll.True(t, 5*interval+slack, "more probes", func() bool { return srv.requests.Load() >= 5 })
	srv.failing.Store(true)
	out := waitStatus(t, r, "web", "critical", interval+slack)
	if !strings.Contains(out, "500 Internal Server Error") {
		t.Errorf("critical output %q", out)
	}
	srv.failing.Store(false)
	waitStatus(t, r, "web", "passing", interval+slack)
	r.Remove("web")
	if got, want := rec.statuses("web"), []string{"passing", "critical", "passing"}; !slices.Equal(got, want) {
		t.Errorf("reported %v, want only the transitions %v", got, want)
	}
}

// TestDeregisterCritical: a service check critical for longer than
// DeregisterCriticalServiceAfter asks for its service's deregistration,
// once; a node check, or one that recovers in time, does not.
func TestDeregisterCritical(t *testing.T) {
	const after = 300 * time.Millisecond
	type call struct {
		service, check string
		at             time.Time
	}
	calls := make(chan call, 10)
	r, _ := newTestRunner(t, Config{DeregisterCritical: func(service, check string) {
		calls <- call{service, check, time.Now()}
	}})
	dead := freeAddr(t)
	live := newCounterServer(t)
	start := time.Now()
	for _, d := range []Definition{
		{CheckID: "dead", ServiceID: "web", TCP: dead, Interval: 50 * time.Millisecond, DeregisterCriticalServiceAfter: after},
		{CheckID: "node", TCP: dead, Interval: 50 * time.Millisecond, DeregisterCriticalServiceAfter: after},
		{CheckID: "recovers", ServiceID: "api", HTTP: live.URL, Interval: 50 * time.Millisecond, DeregisterCriticalServiceAfter: after},
	} {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case c := <-calls:
		if c.service != "web" || c.check != "dead" {
			t.Errorf("deregistration asked for service %q check %q, want web/dead", c.service, c.check)
		}
		if e := c.at.Sub(start); e < after || e > after+slack {
			t.Errorf("deregistration asked after %v, want %v (+ at most %v)", e, after, slack)
		}
	case <-time.After(after + 5*time.Second):
		t.Fatal("no deregistration")
	}
	select {
	case c := <-calls:
		t.Errorf("unexpected second deregistration: %+v", c)
	case <-time.After(3 * after):
	}
}

// TestDeregisterClockSurvivesReplacement: replacing a critical check (a
// re-registration, a reload) does not restart its
// DeregisterCriticalServiceAfter clock, or a service re-registered by a
// deploy tool every so often would never be reaped.
func TestDeregisterClockSurvivesReplacement(t *testing.T) {
	const after = 2 * time.Second
	called := make(chan time.Time, 1)
	r, _ := newTestRunner(t, Config{DeregisterCritical: func(string, string) { called <- time.Now() }})
	d := Definition{CheckID: "dead", ServiceID: "web", TCP: freeAddr(t), Interval: 50 * time.Millisecond, DeregisterCriticalServiceAfter: after}
	start := time.Now()
	if err := r.Add(d); err != nil {
		t.Fatal(err)
	}
	time.Sleep(after / 2) // half the clock has run
	if err := r.Add(d); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-called:
		// A restarted clock would fire at 1.5 × after at the earliest.
		if e := at.Sub(start); e < after || e >= after*3/2 {
			t.Errorf("deregistration asked %v after the check first went critical, want %v", e, after)
		}
	case <-time.After(3 * after):
		t.Fatal("no deregistration")
	}
}
