package bench

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRunLocksHandsOverWithoutOverlap(t *testing.T) {
	f, addr := newFakeCoord(t)
	const contenders = 8
	res, err := RunLocks(context.Background(), LockConfig{Addr: addr, Contenders: contenders, Cycles: 12, Duration: time.Minute, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops < 12 || res.Errors != 0 {
		t.Fatalf("%d cycles, %d errors (%s): want several and none", res.Ops, res.Errors, res.FirstError)
	}
	if res.Overlaps != 0 || res.Mismatches != 0 || res.Verified < res.Ops {
		t.Errorf("overlaps %d mismatches %d verified %d of %d cycles", res.Overlaps, res.Mismatches, res.Verified, res.Ops)
	}
	// Contention: some asked while another held, and waited with blocking
	// reads rather than asking again and again.
	if res.Refused == 0 || res.Waits == 0 {
		t.Errorf("refused %d waits %d: no contention seen", res.Refused, res.Waits)
	}
	if res.Attempts > (res.Ops+contenders)*contenders*2 {
		t.Errorf("%d acquisitions asked for %d cycles: a busy loop", res.Attempts, res.Ops)
	}
	// (A read cut short by the end of the run reached the server but was
	// not counted: one per contender at most.)
	if plain := uint64(f.plainGets.Load()); plain > res.Refused+res.Verified+contenders {
		t.Errorf("%d plain reads for %d refusals and %d verifications: polling instead of blocking", plain, res.Refused, res.Verified)
	}
	if res.OpsPerSec <= 0 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.MaxCycles < res.MinCycles {
		t.Errorf("ops/s %v p50 %v p99 %v max %v cycles per contender %d..%d", res.OpsPerSec, res.P50, res.P99, res.Max, res.MinCycles, res.MaxCycles)
	}
	// The run ends at its cycles, long before its duration.
	if res.Elapsed <= 0 || res.Elapsed >= time.Minute {
		t.Errorf("elapsed %v: the run did not end at its cycles", res.Elapsed)
	}
	// Every session destroyed, so the lock is free again.
	if n := f.live(); n != 0 || f.creates.Load() != contenders {
		t.Errorf("%d sessions left of %d created", n, f.creates.Load())
	}
	if h := f.holder("bench/lock"); h != "" {
		t.Errorf("lock still held by %s", h)
	}
}

func TestRunLocksCatchesTwoHolders(t *testing.T) {
	f, addr := newFakeCoord(t)
	f.grantAlways.Store(true)
	f.getDelay.Store(int64(time.Millisecond))
	res, err := RunLocks(context.Background(), LockConfig{Addr: addr, Contenders: 8, Cycles: 12, Duration: time.Minute, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Overlaps == 0 || res.Mismatches == 0 {
		t.Errorf("a lock granted to everyone: overlaps %d mismatches %d in %d cycles, want both > 0", res.Overlaps, res.Mismatches, res.Ops)
	}
}

func TestRunLocksSessionFailure(t *testing.T) {
	_, addr := newFakeCoord(t)
	// The fake refuses acquisitions by unknown sessions; a server that is
	// not there fails session creation, which RunLocks returns.
	if _, err := RunLocks(context.Background(), LockConfig{Addr: "127.0.0.1:1", Contenders: 2, Duration: 10 * time.Millisecond}); err == nil {
		t.Error("no error without a server")
	}
	// Cancelled before it starts: an error, and nothing counted.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := RunLocks(ctx, LockConfig{Addr: addr, Contenders: 2, Duration: time.Second})
	if err == nil || res.Ops != 0 || res.Errors != 0 {
		t.Errorf("cancelled run: err %v ops %d errors %d", err, res.Ops, res.Errors)
	}
}

func TestSessionWorkload(t *testing.T) {
	f, addr := newFakeCoord(t)
	f.bodies = make(chan []byte, 1)
	w := SessionWorkload(addr, 4, 0)
	w.Count = 50
	res, err := RunWorkload(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 50 || res.Errors != 0 || f.creates.Load() != 50 || f.destroys.Load() != 50 || f.live() != 0 {
		t.Fatalf("ops %d errors %d (%s), %d created, %d destroyed, %d live",
			res.Ops, res.Errors, res.FirstError, f.creates.Load(), f.destroys.Load(), f.live())
	}
	var body struct{ LockDelay, Behavior string }
	if err := json.Unmarshal(<-f.bodies, &body); err != nil || body.LockDelay != "0s" || body.Behavior != "release" {
		t.Errorf("session body %+v (%v)", body, err)
	}
}

func TestFanoutQueryWatchesAPrefix(t *testing.T) {
	f, addr := newFakeCoord(t)
	kv := NewConsulKV(addr, 1)
	defer kv.Close()
	ctx := context.Background()
	if err := kv.Put(ctx, "watch/seed", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "other", []byte("1")); err != nil {
		t.Fatal(err)
	}
	f.wakeDelay.Store(int64(20 * time.Millisecond))
	const watchers = 200
	parked := int64(-1)
	res, err := FanoutQuery(ctx, FanoutConfig{
		Addr: addr, Path: "/v1/kv/watch/", Watchers: watchers, Dials: 32,
		Pending: func() (int, error) { return watchers - int(f.blocked.Load()), nil },
		Before:  func() { parked = f.blocked.Load() },
		Change:  func(ctx context.Context) error { return kv.Put(ctx, "watch/x", []byte("2")) },
	}, "recurse")
	if err != nil {
		t.Fatal(err)
	}
	if res.Woken != watchers || res.Errors != 0 || res.Early != 0 || res.InFlight != watchers || parked != watchers {
		t.Fatalf("woken %d errors %d (%s) early %d in flight %d parked %d, want all %d",
			res.Woken, res.Errors, res.FirstError, res.Early, res.InFlight, parked, watchers)
	}
	if res.P50 < 20*time.Millisecond || res.Max < res.P99 || !res.Settled || res.Index == 0 {
		t.Errorf("p50 %v p99 %v max %v settled %v index %d", res.P50, res.P99, res.Max, res.Settled, res.Index)
	}

	// Without the prefix's query the path is one key, which does not exist:
	// no index to watch from.
	if _, err := FanoutQuery(ctx, FanoutConfig{Addr: addr, Path: "/v1/kv/watch/", Watchers: 1,
		Change: func(context.Context) error { return nil }}, ""); err == nil {
		t.Error("a missing key accepted as the index to watch")
	}
	// Watchers still open at the wake timeout are errors.
	res, err = FanoutQuery(ctx, FanoutConfig{Addr: addr, Path: "/v1/kv/watch/", Watchers: 5, WakeTimeout: 100 * time.Millisecond,
		Change: func(context.Context) error { return nil }}, "recurse")
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 5 || res.Woken != 0 || !strings.Contains(res.FirstError, "context canceled") {
		t.Errorf("errors %d woken %d first %q, want 5 cancelled", res.Errors, res.Woken, res.FirstError)
	}
}

func TestAgentReads(t *testing.T) {
	_, addr := newFakeCoord(t)
	ctx := context.Background()
	c := NewConsulHTTP(addr)
	defer c.Close()
	if dc, err := c.Datacenter(ctx); err != nil || dc != "dc7" {
		t.Errorf("Datacenter = %q, %v", dc, err)
	}
	// An empty prefix answers 404 with an index; a write under it moves
	// the index past that.
	empty, err := c.PrefixIndex(ctx, "p/")
	if err != nil || empty == 0 {
		t.Fatalf("PrefixIndex of an empty prefix = %d, %v", empty, err)
	}
	kv := NewConsulKV(addr, 1)
	defer kv.Close()
	if err := kv.Put(ctx, "p/a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if idx, err := c.PrefixIndex(ctx, "p/"); err != nil || idx <= empty {
		t.Errorf("PrefixIndex after a write = %d (was %d), %v", idx, empty, err)
	}
	if err := CheckSession(ctx, addr); err != nil {
		t.Errorf("CheckSession: %v", err)
	}
	if err := CheckSession(ctx, "127.0.0.1:1"); err == nil {
		t.Error("CheckSession without a server succeeded")
	}
}
