package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Op is the kind of operation a run issues.
type Op string

// The operations Run knows.
const (
	OpPut Op = "put"
	OpGet Op = "get"
)

// Defaults used when a Config leaves a field zero.
const (
	DefaultKeys      = 10000
	DefaultValueSize = 100
	DefaultPrefix    = "bench/"
)

// Config describes one run.
type Config struct {
	Op          Op
	Concurrency int // number of clients, each with one request in flight
	// Duration bounds the run in time; if zero, Count bounds it in
	// operations (successful or not). One of them must be set.
	Duration time.Duration
	Count    int
	// Keys is the size of the keyspace every client picks keys from at
	// random, so writes do not all hit one key and reads spread over the
	// store. DefaultKeys if zero.
	Keys int
	// ValueSize is the length of every written value. DefaultValueSize if
	// zero.
	ValueSize int
	// Prefix starts every key, keeping benchmark keys apart from any other
	// data. DefaultPrefix if empty.
	Prefix string
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Keys <= 0 {
		c.Keys = DefaultKeys
	}
	if c.ValueSize <= 0 {
		c.ValueSize = DefaultValueSize
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	return c
}

// keyNames returns the keyspace. Names are built once, before the clock
// starts, so formatting does not count as request latency.
func keyNames(c Config) []string {
	keys := make([]string, c.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sk%07d", c.Prefix, i)
	}
	return keys
}

// value returns the bytes every put writes: printable, so they read well
// in a store's UI and need no escaping anywhere.
func value(size int) []byte {
	v := make([]byte, size)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return v
}

// Result is the outcome of one or more runs of a scenario on one target.
// Latencies cover successful operations only.
type Result struct {
	Op          Op            `json:"op"`
	Concurrency int           `json:"concurrency"`
	Ops         uint64        `json:"ops"`    // successful operations
	Errors      uint64        `json:"errors"` // failed operations
	FirstError  string        `json:"first_error,omitempty"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	OpsPerSec   float64       `json:"ops_per_sec"`
	Mean        time.Duration `json:"mean_ns"`
	P50         time.Duration `json:"p50_ns"`
	P90         time.Duration `json:"p90_ns"`
	P99         time.Duration `json:"p99_ns"`
	Max         time.Duration `json:"max_ns"`

	hist *Histogram // kept so that results can be combined
}

// finish fills the derived fields from the histogram and elapsed time.
func (r *Result) finish() {
	if r.Elapsed > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Elapsed.Seconds()
	}
	if r.hist != nil {
		r.Mean = r.hist.Mean()
		r.P50 = r.hist.Quantile(0.50)
		r.P90 = r.hist.Quantile(0.90)
		r.P99 = r.hist.Quantile(0.99)
		r.Max = r.hist.Max()
	}
}

// Combine merges results of the same scenario measured in several slices
// (e.g. interleaved with another target to spread machine noise) as if
// they were one run: counts and time add up, percentiles come from the
// merged latencies.
func Combine(rs ...Result) Result {
	var out Result
	out.hist = NewHistogram()
	for _, r := range rs {
		out.Op, out.Concurrency = r.Op, r.Concurrency
		out.Ops += r.Ops
		out.Errors += r.Errors
		out.Elapsed += r.Elapsed
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
		if r.hist != nil {
			out.hist.Merge(r.hist)
		}
	}
	out.finish()
	return out
}

// Run drives t with cfg.Concurrency clients, each issuing cfg.Op back to
// back on random keys of the keyspace, until cfg.Duration has passed or
// cfg.Count operations were issued, or ctx is done. Errors are counted, not
// returned; operations cut short by ctx count as neither success nor error.
func Run(ctx context.Context, t Target, cfg Config) Result {
	cfg = cfg.withDefaults()
	keys := keyNames(cfg)
	val := value(cfg.ValueSize)

	var (
		stop     atomic.Bool  // set when the duration is over
		issued   atomic.Int64 // operations started, for Count runs
		errs     atomic.Uint64
		firstErr atomic.Pointer[string]
		wg       sync.WaitGroup
	)
	hists := make([]*Histogram, cfg.Concurrency)

	// more reports whether a client should start another operation.
	more := func() bool {
		if ctx.Err() != nil || stop.Load() {
			return false
		}
		if cfg.Duration <= 0 {
			return issued.Add(1) <= int64(cfg.Count)
		}
		return true
	}

	start := time.Now()
	if cfg.Duration > 0 {
		timer := time.AfterFunc(cfg.Duration, func() { stop.Store(true) })
		defer timer.Stop()
	}
	for w := range cfg.Concurrency {
		h := NewHistogram()
		hists[w] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A private generator per client: the shared one would be
			// a point of contention at high concurrency.
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for more() {
				key := keys[rng.IntN(len(keys))]
				t0 := time.Now()
				var err error
				if cfg.Op == OpGet {
					err = t.Get(ctx, key)
				} else {
					err = t.Put(ctx, key, val)
				}
				if err == nil {
					h.Record(time.Since(t0))
					continue
				}
				if ctx.Err() != nil {
					return // cancelled, not a failure of the target
				}
				errs.Add(1)
				msg := err.Error()
				firstErr.CompareAndSwap(nil, &msg)
			}
		}()
	}
	wg.Wait()

	r := Result{Op: cfg.Op, Concurrency: cfg.Concurrency, Errors: errs.Load(), Elapsed: time.Since(start)}
	r.hist = NewHistogram()
	for _, h := range hists {
		r.hist.Merge(h)
	}
	r.Ops = r.hist.Count()
	if p := firstErr.Load(); p != nil {
		r.FirstError = *p
	}
	r.finish()
	return r
}

// Preload writes every key of cfg's keyspace once with cfg.Concurrency
// clients, so that a later get run finds every key. It stops at the first
// error and returns it.
func Preload(ctx context.Context, t Target, cfg Config) error {
	cfg = cfg.withDefaults()
	keys := keyNames(cfg)
	val := value(cfg.ValueSize)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(keys)) || ctx.Err() != nil {
					return
				}
				if err := t.Put(ctx, keys[i], val); err != nil {
					cancel(fmt.Errorf("preload %s: %w", keys[i], err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// Scenario is an operation at a concurrency, written "put@64".
type Scenario struct {
	Op          Op
	Concurrency int
}

// String returns the scenario in the form ParseScenarios reads.
func (s Scenario) String() string { return fmt.Sprintf("%s@%d", s.Op, s.Concurrency) }

// ParseScenarios reads a comma-separated list such as "put@1,put@64,get@32".
func ParseScenarios(list string) ([]Scenario, error) {
	var out []Scenario
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		op, n, ok := strings.Cut(f, "@")
		c, err := strconv.Atoi(n)
		if !ok || err != nil || c < 1 {
			return nil, fmt.Errorf("scenario %q: want <op>@<clients>, e.g. put@64", f)
		}
		if Op(op) != OpPut && Op(op) != OpGet {
			return nil, fmt.Errorf("scenario %q: op must be put or get", f)
		}
		out = append(out, Scenario{Op: Op(op), Concurrency: c})
	}
	if len(out) == 0 {
		return nil, errors.New("no scenarios")
	}
	return out, nil
}
