package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// targets returns both target kinds pointed at one fake server, whose
// HTTP side is at addr.
func targets(t testing.TB, f *fakeKV, addr string, conc int) map[string]Target {
	e, err := NewEtcdKV(f.etcdAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return map[string]Target{
		"consul": NewConsulKV(addr, conc),
		"etcd":   e,
	}
}

func TestTargetsRoundTrip(t *testing.T) {
	for _, name := range []string{"consul", "etcd"} {
		t.Run(name, func(t *testing.T) {
			f, addr := newFake(t)
			tg := targets(t, f, addr, 1)[name]
			ctx := context.Background()
			if err := tg.Get(ctx, "bench/missing"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
			}
			val := value(DefaultValueSize)
			if err := tg.Put(ctx, "bench/a", val); err != nil {
				t.Fatal(err)
			}
			// The server must have decoded exactly the key and value sent.
			got, ok := f.get("bench/a")
			if !ok || string(got) != string(val) {
				t.Fatalf("server stored %q (found %v), want %q", got, ok, val)
			}
			if err := tg.Get(ctx, "bench/a"); err != nil {
				t.Fatalf("get after put: %v", err)
			}
		})
	}
}

func TestRunCountPutsAndKeepAlive(t *testing.T) {
	for _, name := range []string{"consul", "etcd"} {
		t.Run(name, func(t *testing.T) {
			f, addr := newFake(t)
			cfg := Config{Op: OpPut, Concurrency: 8, Count: 2000, Keys: 50}
			r := Run(context.Background(), targets(t, f, addr, cfg.Concurrency)[name], cfg)
			if r.Ops != 2000 || r.Errors != 0 || f.puts.Load() != 2000 {
				t.Fatalf("ops %d errors %d (%s), server saw %d puts; want 2000/0/2000",
					r.Ops, r.Errors, r.FirstError, f.puts.Load())
			}
			if f.len() > 50 || f.len() < 40 {
				t.Errorf("%d distinct keys written, want most of the 50-key keyspace", f.len())
			}
			if !(r.P50 > 0 && r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
				t.Errorf("percentiles out of order: p50 %v p90 %v p99 %v max %v", r.P50, r.P90, r.P99, r.Max)
			}
			if r.OpsPerSec <= 0 || r.Elapsed <= 0 {
				t.Errorf("ops/s %v elapsed %v", r.OpsPerSec, r.Elapsed)
			}
			// Without keep-alive every request would dial: 2000 connections.
			if c := f.conns.Load(); c > 2*int64(cfg.Concurrency) {
				t.Errorf("%d connections for %d clients: keep-alive is not working", c, cfg.Concurrency)
			}
		})
	}
}

func TestPreloadThenGet(t *testing.T) {
	f, addr := newFake(t)
	tg := NewConsulKV(addr, 4)
	cfg := Config{Op: OpGet, Concurrency: 4, Count: 500, Keys: 300}
	ctx := context.Background()
	// Before preloading, every get misses and must count as an error.
	if r := Run(ctx, tg, Config{Op: OpGet, Concurrency: 2, Count: 10, Keys: 300}); r.Errors != 10 || r.Ops != 0 {
		t.Fatalf("gets before preload: ops %d errors %d, want 0/10", r.Ops, r.Errors)
	}
	if err := Preload(ctx, tg, cfg); err != nil {
		t.Fatal(err)
	}
	if f.len() != 300 || f.puts.Load() != 300 {
		t.Fatalf("preload wrote %d keys with %d puts, want 300 each", f.len(), f.puts.Load())
	}
	r := Run(ctx, tg, cfg)
	if r.Ops != 500 || r.Errors != 0 {
		t.Fatalf("gets after preload: ops %d errors %d (%s)", r.Ops, r.Errors, r.FirstError)
	}
}

func TestRunCountsErrors(t *testing.T) {
	f, addr := newFake(t)
	f.failEvery = 4
	r := Run(context.Background(), NewConsulKV(addr, 3), Config{Op: OpPut, Concurrency: 3, Count: 400})
	if r.Ops+r.Errors != 400 || r.Errors != 100 {
		t.Fatalf("ops %d errors %d, want 300/100", r.Ops, r.Errors)
	}
	if !strings.Contains(r.FirstError, "500") || !strings.Contains(r.FirstError, "injected failure") {
		t.Errorf("first error %q should carry the status and body", r.FirstError)
	}
	if r.hist.Count() != r.Ops {
		t.Errorf("latencies recorded for %d ops, want only the %d successes", r.hist.Count(), r.Ops)
	}
	if err := Preload(context.Background(), NewConsulKV(addr, 2), Config{Keys: 100, Concurrency: 2}); err == nil {
		t.Error("preload against a failing server returned no error")
	}
}

func TestRunDurationAndCancel(t *testing.T) {
	_, addr := newFake(t)
	tg := NewConsulKV(addr, 4)
	r := Run(context.Background(), tg, Config{Op: OpPut, Concurrency: 4, Duration: 150 * time.Millisecond})
	if r.Elapsed < 150*time.Millisecond || r.Elapsed > 30*time.Second || r.Ops == 0 || r.Errors != 0 {
		t.Fatalf("150ms run: elapsed %v ops %d errors %d", r.Elapsed, r.Ops, r.Errors)
	}
	// A cancelled context ends a long run at once, and requests cut short
	// by it are not the target's errors.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r = Run(ctx, tg, Config{Op: OpPut, Concurrency: 4, Duration: time.Minute})
	if r.Elapsed > 5*time.Second || r.Errors != 0 {
		t.Fatalf("cancelled run: elapsed %v errors %d (%s)", r.Elapsed, r.Errors, r.FirstError)
	}
}

func TestCombine(t *testing.T) {
	_, addr := newFake(t)
	tg := NewConsulKV(addr, 2)
	cfg := Config{Op: OpPut, Concurrency: 2, Count: 300}
	a, b := Run(context.Background(), tg, cfg), Run(context.Background(), tg, cfg)
	c := Combine(a, b)
	if c.Ops != 600 || c.Elapsed != a.Elapsed+b.Elapsed || c.Op != OpPut || c.Concurrency != 2 {
		t.Fatalf("combined ops %d elapsed %v (parts %v+%v) op %s@%d", c.Ops, c.Elapsed, a.Elapsed, b.Elapsed, c.Op, c.Concurrency)
	}
	if c.Max != max(a.Max, b.Max) || c.P50 < min(a.P50, b.P50) || c.P50 > max(a.P50, b.P50) {
		t.Errorf("combined max %v p50 %v from max %v/%v p50 %v/%v", c.Max, c.P50, a.Max, b.Max, a.P50, b.P50)
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := ParseScenarios("put@1, put@64,get@32")
	if err != nil {
		t.Fatal(err)
	}
	want := []Scenario{{OpPut, 1}, {OpPut, 64}, {OpGet, 32}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] || got[i].String() != []string{"put@1", "put@64", "get@32"}[i] {
			t.Errorf("scenario %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "put", "put@0", "del@3", "get@x", ","} {
		if _, err := ParseScenarios(bad); err == nil {
			t.Errorf("ParseScenarios(%q) accepted", bad)
		}
	}
}

// BenchmarkConsulPutClient measures the load generator's own cost per put
// against the in-memory fake, which bounds what it can measure.
func BenchmarkConsulPutClient(b *testing.B) {
	_, addr := newFake(b)
	tg := NewConsulKV(addr, 1)
	val := value(DefaultValueSize)
	for b.Loop() {
		if err := tg.Put(context.Background(), "bench/k", val); err != nil {
			b.Fatal(err)
		}
	}
}
