package checks

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
)

// slack is what the tests allow beyond Herald's promise that a check's
// status follows reality "within one check interval plus a second".
const slack = 5 * time.Second

// recorder collects what a Runner reports.
type recorder struct {
	mu      sync.Mutex
	updates []recorded
}

type recorded struct {
	Update
	at time.Time
}

func (rec *recorder) notify(u Update) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.updates = append(rec.updates, recorded{Update: u, at: time.Now()})
}

// of returns the updates of one check, in order.
func (rec *recorder) of(checkID string) []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []recorded
	for _, u := range rec.updates {
		if u.CheckID == checkID {
			out = append(out, u)
		}
	}
	return out
}

// statuses returns the reported statuses of one check, in order.
func (rec *recorder) statuses(checkID string) []string {
	var out []string
	for _, u := range rec.of(checkID) {
		out = append(out, u.Status)
	}
	return out
}

// transitions returns the statuses one check went through, in order:
// the reported statuses without the repeats of output-only reports (which
// a probe timing out on a loaded machine may add).
func (rec *recorder) transitions(checkID string) []string {
	var out []string
	for _, s := range rec.statuses(checkID) {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// newTestRunner returns a runner reporting to a recorder, with first runs
// unstaggered, stopped when the test ends.
func newTestRunner(t *testing.T, cfg Config) (*Runner, *recorder) {
	t.Helper()
	rec := &recorder{}
	if cfg.Notify == nil {
		cfg.Notify = rec.notify
	}
	cfg.NoStagger = true
	r := NewRunner(cfg)
	t.Cleanup(r.Stop)
	return r, rec
}

// waitStatus waits until check id has status, and returns its output.
func waitStatus(t *testing.T, r *Runner, id, status string, within time.Duration) string {
	t.Helper()
	var output string
	poll.Eventually(t, within, fmt.Sprintf("check %s has status %q", id, status), func() (bool, string) {
		got, out, ok := r.Status(id)
		if !ok {
			return false, "no such check"
		}
		output = out
		return got == status, fmt.Sprintf("status %q (output %q)", got, out)
	})
	return output
}

// freeAddr returns a loopback TCP address nothing listens on (it was free
// a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
