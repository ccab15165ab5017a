package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Workload is a closed-loop load that is not a key/value Target: DNS
// queries, service registrations, health reads. Every client issues its
// operation back to back with one in flight, like Run's clients.
type Workload struct {
	// Name labels the Result (its Op field).
	Name        string
	Concurrency int
	// Duration bounds the run in time; if zero, Count bounds it in
	// operations (successful or not). One of them must be set.
	Duration time.Duration
	Count    int
	// NewClient is called once per client, before the clock starts, and
	// returns the operation that client repeats and a function releasing
	// what the client holds (a socket, say), which may be nil. Each client
	// calls its operation from one goroutine only, so the operation may
	// keep unsynchronized state; seq counts that client's operations from
	// 0.
	NewClient func(client int) (op func(ctx context.Context, seq int) error, release func(), err error)
}

// RunWorkload drives w like Run drives a Target: errors are counted, not
// returned, and operations cut short by ctx count as neither success nor
// error. It returns an error only if a client could not be set up, in
// which case nothing was run.
func RunWorkload(ctx context.Context, w Workload) (Result, error) {
	conc := max(w.Concurrency, 1)
	ops := make([]func(context.Context, int) error, conc)
	for i := range ops {
		op, release, err := w.NewClient(i)
		if err != nil {
			return Result{}, fmt.Errorf("%s client %d: %w", w.Name, i, err)
		}
		if release != nil {
			defer release()
		}
		ops[i] = op
	}

	var (
		stop     atomic.Bool
		issued   atomic.Int64
		errs     atomic.Uint64
		firstErr atomic.Pointer[string]
		wg       sync.WaitGroup
	)
	more := func() bool {
		if ctx.Err() != nil || stop.Load() {
			return false
		}
		if w.Duration <= 0 {
			return issued.Add(1) <= int64(w.Count)
		}
		return true
	}
	hists := make([]*Histogram, conc)
	start := time.Now()
	if w.Duration > 0 {
		timer := time.AfterFunc(w.Duration, func() { stop.Store(true) })
		defer timer.Stop()
	}
	for i := range conc {
		h := NewHistogram()
		hists[i] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; more(); seq++ {
				t0 := time.Now()
				err := ops[i](ctx, seq)
				if err == nil {
					h.Record(time.Since(t0))
					continue
				}
				if ctx.Err() != nil {
					return
				}
				errs.Add(1)
				msg := err.Error()
				firstErr.CompareAndSwap(nil, &msg)
			}
		}()
	}
	wg.Wait()

	r := Result{Op: Op(w.Name), Concurrency: conc, Errors: errs.Load(), Elapsed: time.Since(start)}
	r.hist = NewHistogram()
	for _, h := range hists {
		r.hist.Merge(h)
	}
	r.Ops = r.hist.Count()
	if p := firstErr.Load(); p != nil {
		r.FirstError = *p
	}
	r.finish()
	return r, nil
}
