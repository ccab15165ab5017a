package plan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/watch/plan"
)

// waitLimit bounds every wait for something the agent or a plan must do.
const waitLimit = 30 * time.Second

// settleWait is the blocking-query wait of plans whose tests must also see
// wake-ups that change nothing: each query times out this fast and comes
// back with the same index.
const settleWait = 200 * time.Millisecond

func startAgent(t *testing.T) *api.Client {
	t.Helper()
	addr := agenttest.StartDev(t)
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type wake struct {
	index uint64
	fired bool
}

// recorder observes a running plan: every handler run (after the wrapped
// handler, if any, returned) and every wake-up.
type recorder struct {
	inner plan.Handler

	mu      sync.Mutex
	updates []plan.Update
	errs    []error
	wakes   []wake
}

func newRecorder(inner plan.Handler) *recorder {
	return &recorder{inner: inner}
}

func (r *recorder) Handle(ctx context.Context, u plan.Update) error {
	var err error
	if r.inner != nil {
		err = r.inner.Handle(ctx, u)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, u)
	r.errs = append(r.errs, err)
	return err
}

func (r *recorder) woke(index uint64, fired bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wakes = append(r.wakes, wake{index, fired})
}

// waitFor waits until cond, called with the lock held, is true.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Eventually(t, waitLimit, what, func() (bool, string) {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return true, ""
		}
		return false, "handler runs so far:\n" + r.dump()
	})
}

// fires waits for at least n handler runs and returns them all.
func (r *recorder) fires(t *testing.T, n int) []plan.Update {
	t.Helper()
	r.waitFor(t, fmt.Sprintf("%d handler runs", n), func() bool { return len(r.updates) >= n })
	return r.snapshot()
}

func (r *recorder) snapshot() []plan.Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]plan.Update(nil), r.updates...)
}

// exactly waits until the plan has answered at least two more queries
// without running the handler after its latest run (so any wake-up still
// under way from earlier writes has been judged) and checks that the
// handler ran exactly n times. The plan needs WaitTime settleWait.
func (r *recorder) exactly(t *testing.T, n int) []plan.Update {
	t.Helper()
	r.mu.Lock()
	from := len(r.wakes)
	r.mu.Unlock()
	r.waitFor(t, "two more wake-ups that change nothing", func() bool {
		quiet := 0
		for _, w := range r.wakes[from:] {
			if w.fired {
				quiet = 0
				continue
			}
			quiet++
		}
		return quiet >= 2
	})
	got := r.snapshot()
	if len(got) != n {
		t.Fatalf("handler ran %d times, want %d:\n%s", len(got), n, r.dump())
	}
	return got
}

// quietWakeAtOrAfter waits for a wake-up at index >= index that did not
// run the handler: the plan saw a change of index and judged the data the
// same.
func (r *recorder) quietWakeAtOrAfter(t *testing.T, index uint64) {
	t.Helper()
	r.waitFor(t, fmt.Sprintf("a wake-up at index >= %d that runs nothing", index), func() bool {
		for _, w := range r.wakes {
			if w.index >= index && !w.fired {
				return true
			}
		}
		return false
	})
}

func (r *recorder) err(i int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs[i]
}

func (r *recorder) errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for i, u := range r.updates {
		fmt.Fprintf(&b, "  #%d index %d: %s (err %v)\n", i, u.Index, u.JSON, r.errs[i])
	}
	fmt.Fprintf(&b, "  wake-ups: %v\n", r.wakes)
	return b.String()
}

// start runs p (its handler, if any, wrapped in a recorder) until the end
// of the test, and checks that it stops when asked.
func start(t *testing.T, c *api.Client, p *plan.Plan) *recorder {
	t.Helper()
	r := newRecorder(p.Handler)
	p.Handler = r
	p.Woke = r.woke
	if p.WaitTime == 0 {
		p.WaitTime = settleWait
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, c) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("plan ended with %v", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("plan did not stop after its context ended")
		}
	})
	return r
}

func mustParse(t *testing.T, def map[string]any) *plan.Plan {
	t.Helper()
	p, err := plan.Parse(def)
	if err != nil {
		t.Fatalf("Parse(%v): %v", def, err)
	}
	return p
}

func put(t *testing.T, c *api.Client, key, value string) {
	t.Helper()
	if _, err := c.KV().Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		t.Fatal(err)
	}
}

// register puts a service instance (and optionally checks) on an external
// node straight into the catalog, so the agent's anti-entropy leaves it be.
func register(t *testing.T, c *api.Client, node, id, name string, port int, tags []string, checks ...*api.AgentCheck) {
	t.Helper()
	reg := &api.CatalogRegistration{Node: node, Address: "10.0.0.1"}
	if name != "" {
		reg.Service = &api.AgentService{ID: id, Service: name, Port: port, Tags: tags}
	}
	for _, ch := range checks {
		reg.Checks = append(reg.Checks, &api.HealthCheck{Node: node, CheckID: ch.CheckID, Name: ch.Name,
			Status: ch.Status, ServiceID: ch.ServiceID})
	}
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
}

func decode[T any](t *testing.T, u plan.Update) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(u.JSON, &v); err != nil {
		t.Fatalf("update JSON %s: %v", u.JSON, err)
	}
	return v
}
