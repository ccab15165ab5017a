package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// This file measures failover as a client sees it: a writer that keeps
// writing, each write with a short timeout, and the time from a failure
// (a killed leader) to the first write sent after it that succeeded.

// FailoverWriter writes one key through a Target back to back from one
// goroutine, every write bounded by a timeout and followed, when it failed,
// by a short pause (so that a server answering errors at once is not
// hammered). Between Arm and Wait it keeps a log of its writes.
type FailoverWriter struct {
	t       Target
	key     string
	timeout time.Duration
	pause   time.Duration

	mu     sync.Mutex
	armed  bool
	log    []writeAttempt
	notify chan struct{} // a write was logged
	seq    uint64

	cancel context.CancelFunc
	done   chan struct{}
}

// writeAttempt is one write the FailoverWriter sent.
type writeAttempt struct {
	start, end time.Time
	err        error
}

// StartFailoverWriter starts writing key through t until Close or ctx is
// done. timeout bounds every write; pause follows a failed one.
func StartFailoverWriter(ctx context.Context, t Target, key string, timeout, pause time.Duration) *FailoverWriter {
	ctx, cancel := context.WithCancel(ctx)
	w := &FailoverWriter{t: t, key: key, timeout: timeout, pause: pause,
		notify: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go w.loop(ctx)
	return w
}

func (w *FailoverWriter) loop(ctx context.Context) {
	defer close(w.done)
	for ctx.Err() == nil {
		w.seq++
		value := fmt.Appendf(nil, "%d", w.seq)
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, w.timeout)
		err := w.t.Put(wctx, w.key, value)
		cancel()
		end := time.Now()
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		if w.armed {
			w.log = append(w.log, writeAttempt{start: start, end: end, err: err})
		}
		w.mu.Unlock()
		select {
		case w.notify <- struct{}{}:
		default:
		}
		if err != nil && w.pause > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(w.pause):
			}
		}
	}
}

// Arm starts logging writes; call it just before the failure.
func (w *FailoverWriter) Arm() {
	w.mu.Lock()
	w.armed, w.log = true, nil
	w.mu.Unlock()
}

// FailoverSample is what one failure cost the writer.
type FailoverSample struct {
	// Took is the time from the failure to the end of the first write
	// sent after it that succeeded.
	Took time.Duration `json:"took_ns"`
	// Failed counts the writes sent after the failure that failed before
	// that one; FirstError is the first of their errors.
	Failed     int    `json:"failed_writes"`
	FirstError string `json:"first_error,omitempty"`
}

// Wait returns, once it has happened, the first write sent at or after
// at (the failure) that succeeded, and stops logging. It gives up after
// limit, or when ctx is done.
func (w *FailoverWriter) Wait(ctx context.Context, at time.Time, limit time.Duration) (FailoverSample, error) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	defer func() {
		w.mu.Lock()
		w.armed, w.log = false, nil
		w.mu.Unlock()
	}()
	for {
		w.mu.Lock()
		s, ok := firstWriteAfter(w.log, at)
		w.mu.Unlock()
		if ok {
			return s, nil
		}
		select {
		case <-w.notify:
		case <-w.done:
			return s, fmt.Errorf("the writer stopped before a write succeeded (%d failed, first: %s)", s.Failed, s.FirstError)
		case <-ctx.Done():
			return s, ctx.Err()
		case <-timer.C:
			return s, fmt.Errorf("no write succeeded within %v of the failure (%d failed, first: %s)", limit, s.Failed, s.FirstError)
		}
	}
}

// firstWriteAfter finds in log the first write sent at or after at that
// succeeded; ok is false if there is none yet, and the sample then counts
// the failures so far. Writes sent before at do not count either way: one
// in flight at the failure may have been taken by the server that failed.
func firstWriteAfter(log []writeAttempt, at time.Time) (s FailoverSample, ok bool) {
	for _, a := range log {
		if a.start.Before(at) {
			continue
		}
		if a.err == nil {
			s.Took = a.end.Sub(at)
			return s, true
		}
		if s.Failed == 0 {
			s.FirstError = a.err.Error()
		}
		s.Failed++
	}
	return s, false
}

// Close stops the writer and waits until its last write returned.
func (w *FailoverWriter) Close() {
	w.cancel()
	<-w.done
}

// MedianMax returns the median of ds (the mean of the two middle values
// for an even count) and the largest; zero for none.
func MedianMax(ds []time.Duration) (median, largest time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		median = s[n/2]
	} else {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, s[n-1]
}
