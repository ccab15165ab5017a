package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFanoutWakesEveryWatcher(t *testing.T) {
	f, addr := newFakeDisco(t)
	c := NewConsulHTTP(addr)
	defer c.Close()
	ctx := context.Background()
	if err := c.RegisterInstances(ctx, "api", 3); err != nil {
		t.Fatal(err)
	}
	f.wakeDelay.Store(int64(30 * time.Millisecond))
	const watchers = 300
	parkedBefore, afterRan := int64(-1), false
	res, err := Fanout(ctx, FanoutConfig{
		Addr: addr, Path: "/v1/health/service/api", Watchers: watchers, Dials: 32,
		Pending: func() (int, error) { return watchers - int(f.blocked.Load()), nil },
		Before:  func() { parkedBefore = f.blocked.Load() },
		After:   func() { afterRan = true },
		Change:  func(ctx context.Context) error { return c.RegisterInstance(ctx, "api", 1, "warning") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Early != 0 || res.Woken != watchers || res.InFlight != watchers {
		t.Fatalf("woken %d early %d errors %d (%s) in flight %d, want all %d woken",
			res.Woken, res.Early, res.Errors, res.FirstError, res.InFlight, watchers)
	}
	if !afterRan {
		t.Error("After did not run")
	}
	// The server had every watch parked when the change came: what the
	// settling is for.
	if parkedBefore != watchers {
		t.Errorf("%d watches parked on the server at the change, want %d", parkedBefore, watchers)
	}
	if !res.Settled || res.Pending != 0 || res.Index == 0 || res.ChangeTook <= 0 {
		t.Errorf("settled %v pending %d index %d change took %v", res.Settled, res.Pending, res.Index, res.ChangeTook)
	}
	// Latency runs from the change, so it includes the server's 30ms.
	if res.P50 < 30*time.Millisecond || res.P99 < res.P50 || res.Max < res.P99 || res.Max > 10*time.Second {
		t.Errorf("p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
	}
}

func TestFanoutCountsEarlyAnswersAndFailures(t *testing.T) {
	f, addr := newFakeDisco(t)
	c := NewConsulHTTP(addr)
	defer c.Close()
	ctx := context.Background()
	if err := c.RegisterInstances(ctx, "api", 2); err != nil {
		t.Fatal(err)
	}
	// A server that answers blocking queries at once: nobody is woken by
	// the change.
	f.ignoreIndex.Store(true)
	res, err := Fanout(ctx, FanoutConfig{Addr: addr, Path: "/v1/health/service/api", Watchers: 20,
		Change: func(ctx context.Context) error { return c.RegisterInstance(ctx, "api", 0, "critical") }})
	if err != nil {
		t.Fatal(err)
	}
	// Every watcher is answered at once; one that a busy machine started
	// only after the change counts as woken, but none waits for a wake.
	if res.Early == 0 || res.Early+res.Woken != 20 || res.Max > time.Second {
		t.Errorf("early %d woken %d max %v, want all 20 answered at once", res.Early, res.Woken, res.Max)
	}

	// Watchers still open at the wake timeout are errors; a failed change
	// is reported.
	f.ignoreIndex.Store(false)
	res, err = Fanout(ctx, FanoutConfig{Addr: addr, Path: "/v1/health/service/api", Watchers: 5,
		WakeTimeout: 100 * time.Millisecond, Change: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 5 || res.Woken != 0 || !strings.Contains(res.FirstError, "context canceled") {
		t.Errorf("errors %d woken %d first %q, want 5 cancelled", res.Errors, res.Woken, res.FirstError)
	}
	_, err = Fanout(ctx, FanoutConfig{Addr: addr, Path: "/v1/health/service/api", Watchers: 5,
		Change: func(context.Context) error { return errors.New("refused") }})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("failed change: %v", err)
	}
	// No index to watch.
	if _, err := Fanout(ctx, FanoutConfig{Addr: addr, Path: "/v1/status/leader", Watchers: 1,
		Change: func(context.Context) error { return nil }}); err == nil {
		t.Error("a path without X-Consul-Index accepted")
	}
}

// Watchers spread over several agents wait for the index they all answer,
// and are all woken by the one change.
func TestFanoutSpreadsOverAgents(t *testing.T) {
	_, addr1 := newFakeDisco(t)
	_, addr2 := newFakeDisco(t)
	ctx := context.Background()
	for _, a := range []string{addr1, addr2} {
		c := NewConsulHTTP(a)
		if err := c.RegisterInstances(ctx, "api", 2); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	c2 := NewConsulHTTP(addr2)
	defer c2.Close()
	const watchers = 40
	res, err := Fanout(ctx, FanoutConfig{
		Addr: addr1, Addrs: []string{addr1, addr2}, Path: "/v1/health/service/api", Watchers: watchers,
		Pending: func() (int, error) { return 0, nil },
		Change: func(ctx context.Context) error {
			// The same change on both agents, as a write reaches every
			// client agent's copy.
			c1 := NewConsulHTTP(addr1)
			defer c1.Close()
			if err := c1.RegisterInstance(ctx, "api", 1, "warning"); err != nil {
				return err
			}
			return c2.RegisterInstance(ctx, "api", 1, "warning")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Woken != watchers || res.Errors != 0 || res.Early != 0 {
		t.Fatalf("woken %d early %d errors %d (%s), want all %d woken", res.Woken, res.Early, res.Errors, res.FirstError, watchers)
	}
	if res.Index == 0 {
		t.Error("no index watched")
	}

	// Agents that never agree on the index are an error, not a run.
	if err := c2.RegisterInstance(ctx, "api", 3, "passing"); err != nil {
		t.Fatal(err)
	}
	_, err = Fanout(ctx, FanoutConfig{Addr: addr1, Addrs: []string{addr1, addr2}, Path: "/v1/health/service/api", Watchers: 2,
		SetupTimeout: 300 * time.Millisecond, Change: func(context.Context) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "do not agree") {
		t.Errorf("agents at different indexes: %v, want a disagreement", err)
	}
}
