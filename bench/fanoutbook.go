package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// fanoutBook keeps the ends of a fan-out's waiters (blocking queries,
// subscriptions): how many are armed, and for each, once, when it ended
// and how. It is what FanoutQuery and NATSFanout share.
type fanoutBook struct {
	outcomes []watcherOutcome
	data     []any         // what ended each waiter, if its end was given one
	ended    []atomic.Bool // set by whoever records a waiter's end first
	armed    atomic.Int64  // waiters ready for the change
	finished atomic.Int64  // outcomes written
	all      chan struct{} // closed when every outcome is written
}

func newFanoutBook(n int) *fanoutBook {
	return &fanoutBook{outcomes: make([]watcherOutcome, n), data: make([]any, n), ended: make([]atomic.Bool, n), all: make(chan struct{})}
}

// end records waiter i's end, at (zero if it never answered) with err, if
// nothing was recorded for it yet, and reports whether it did. It may be
// called from any goroutine.
func (b *fanoutBook) end(i int, at time.Time, err error) bool {
	return b.endWith(i, at, err, nil)
}

// endWith is end keeping data (a message, say) with the outcome, to be
// examined once every waiter has ended.
func (b *fanoutBook) endWith(i int, at time.Time, err error, data any) bool {
	if !b.ended[i].CompareAndSwap(false, true) {
		return false
	}
	b.outcomes[i] = watcherOutcome{at: at, err: err}
	b.data[i] = data
	if b.finished.Add(1) == int64(len(b.outcomes)) {
		close(b.all)
	}
	return true
}

// endAll ends every waiter not ended yet with err, then waits until every
// outcome is written (a waiter that won the race to end writes its own).
func (b *fanoutBook) endAll(err error) {
	for i := range b.outcomes {
		b.end(i, time.Time{}, err)
	}
	<-b.all
}

// waitArmed waits until every waiter is armed or has ended, the deadline
// passes, or ctx is done, logging progress every 2s.
func (b *fanoutBook) waitArmed(ctx context.Context, deadline time.Time, what string, logf func(string, ...any)) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastLog := time.Now()
	n := int64(len(b.outcomes))
	for b.armed.Load()+b.finished.Load() < n && time.Now().Before(deadline) {
		if time.Since(lastLog) >= 2*time.Second {
			logf("%d of %d %s ready", b.armed.Load(), n, what)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// waitEnded waits until every waiter has ended, for at most timeout; it
// reports whether they all did.
func (b *fanoutBook) waitEnded(ctx context.Context, timeout time.Duration) (bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-b.all:
		return true, nil
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// summarize counts the outcomes into res: an error fails a waiter, an
// answer before changeAt is early, any other is woken and its latency from
// changeAt recorded. Call it once every outcome is written.
func (b *fanoutBook) summarize(res *FanoutResult, changeAt time.Time) {
	h := NewHistogram()
	for _, o := range b.outcomes {
		switch {
		case o.err != nil:
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = o.err.Error()
			}
		case o.at.Before(changeAt):
			res.Early++
		default:
			res.Woken++
			h.Record(o.at.Sub(changeAt))
		}
	}
	res.P50, res.P90, res.P99, res.Max = h.Quantile(0.50), h.Quantile(0.90), h.Quantile(0.99), h.Max()
}

// errNoAnswer ends the waiters still open when a fan-out gives up on them.
var errNoAnswer = errors.New("no answer within the wake timeout")

// settleServer waits until pending (if set) says the server has read every
// request, then until quietPolls pings in a row answer within quiet; it
// returns how long that took and whether it happened before the deadline.
// res.Pending is set to what pending last said, -1 if not asked.
func settleServer(ctx context.Context, probe *ConsulHTTP, pending func() (int, error), quiet time.Duration, quietPolls int,
	deadline time.Time, res *FanoutResult, logf func(string, ...any)) {
	start := time.Now()
	res.Pending = -1
	if pending != nil {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n, err := pending()
			if err != nil {
				logf("cannot tell whether the server read every request: %v", err)
				break
			}
			res.Pending = n
			if n == 0 {
				break
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}
	streak := 0
	for streak < quietPolls && time.Now().Before(deadline) && ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
		d, err := probe.Ping(pctx)
		pcancel()
		if err == nil && d <= quiet {
			streak++
		} else {
			streak = 0
		}
	}
	res.Settle, res.Settled = time.Since(start), streak >= quietPolls && res.Pending <= 0
}

// quietThreshold is a few times the best of five pings now, before any
// load: the answer time under which the server counts as settled.
func quietThreshold(ctx context.Context, probe *ConsulHTTP) (time.Duration, error) {
	best := time.Hour
	for range 5 {
		d, err := probe.Ping(ctx)
		if err != nil {
			return 0, err
		}
		best = min(best, d)
	}
	return max(4*best, 5*time.Millisecond), nil
}
