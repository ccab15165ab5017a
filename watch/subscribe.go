package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/heraldhq/herald/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrGap matches (with errors.Is) every *GapError.
var ErrGap = errors.New("watch: gap in the event stream")

// GapError reports that events a subscriber needed are not in the stream:
// they expired or were deleted before it read them, or were never published.
// A subscriber that keeps state from events must rebuild it (from a snapshot)
// rather than carry on; one that only shows events may resubscribe from Next.
type GapError struct {
	Shard string
	// After is the last index whose events were all delivered (fromIndex-1
	// if none were).
	After uint64
	// Next is the index of the first event available after the gap.
	Next uint64
	// Detail says what is missing.
	Detail string
}

func (e *GapError) Error() string {
	return fmt.Sprintf("watch: gap in the %s event stream after index %d (next available %d): %s",
		e.Shard, e.After, e.Next, e.Detail)
}

// Is makes errors.Is(err, ErrGap) true.
func (e *GapError) Is(target error) bool { return target == ErrGap }

// Subscribe follows the events of shard in datacenter dc, in index order,
// starting with the first event whose index is >= fromIndex, and calls
// handler for each, one at a time, on a goroutine of its own. It returns once
// the subscription is set up; it keeps delivering new events as they are
// published.
//
// fromIndex says the caller has every event before it: if the stream no
// longer holds some of the events from fromIndex on, that is reported as a
// gap. fromIndex 0 means "whatever the stream holds", with no gap check at
// the start.
//
// The subscription ends at the first of: ctx done or stop called (no error),
// a gap (a *GapError), handler returning an error (that error, wrapped), or a
// failure of the consumer. The ending error, if any, is sent on the returned
// channel, which is then closed; the channel has room for it, so a caller
// that never reads it does not block the subscription. Choosing a channel
// over a callback lets the caller wait for the end in a select next to its
// own work.
//
// stop ends the subscription and waits until handler is no longer running;
// it must not be called from handler (return an error there instead).
func Subscribe(ctx context.Context, js jetstream.JetStream, dc, shard string, fromIndex uint64,
	handler func(event.Event) error) (stop func(), errs <-chan error, err error) {
	name := StreamName(dc, shard)
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("watch: subscribe to stream %s: %w", name, err)
	}
	state := s.CachedInfo().State
	filter := StreamSubjects(dc, shard)
	start, err := findStartSeq(ctx, s, filter, state.FirstSeq, state.LastSeq, fromIndex)
	if err != nil {
		return nil, nil, err
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("watch: consumer on stream %s: %w", name, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, nil, fmt.Errorf("watch: consume stream %s: %w", name, err)
	}

	errc := make(chan error, 1)
	done := make(chan struct{})
	f := &follower{shard: shard, from: fromIndex, wantSeq: start, done: fromIndex - min(fromIndex, 1)}
	go func() {
		defer close(errc)
		defer close(done)
		defer it.Stop()
		for {
			msg, err := it.Next()
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					errc <- fmt.Errorf("watch: consume stream %s: %w", name, err)
				}
				return
			}
			meta, err := msg.Metadata()
			if err != nil {
				errc <- fmt.Errorf("watch: consume stream %s: %w", name, err)
				return
			}
			ev, ok, err := f.accept(meta.Sequence.Stream, msg.Headers(), msg.Data())
			if err != nil {
				errc <- err
				return
			}
			if !ok {
				continue
			}
			if err := handler(ev); err != nil {
				errc <- fmt.Errorf("watch: event handler at index %d: %w", ev.Index, err)
				return
			}
			f.delivered()
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			it.Stop()
		case <-done:
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(it.Stop)
		<-done
	}
	return stop, errc, nil
}

// findStartSeq returns the sequence of the first message in [first, last]
// whose index is >= fromIndex, or last+1 if there is none, by binary search:
// a shard's indexes only grow along its stream. Each probe is a direct get of
// the first message at or after a sequence, which also steps over deleted
// sequences.
func findStartSeq(ctx context.Context, s jetstream.Stream, filter string, first, last, fromIndex uint64) (uint64, error) {
	lo, hi := max(first, 1), last+1
	if fromIndex == 0 {
		return lo, nil
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		m, err := s.GetMsg(ctx, mid, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			hi = mid
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("watch: find index %d in the event stream: %w", fromIndex, err)
		}
		// A message Herald did not publish counts as before any index.
		var idx uint64
		if mi, err := parseMsgInfo(m.Header); err == nil {
			idx = mi.index
		}
		if idx >= fromIndex {
			hi = mid
		} else {
			lo = m.Sequence + 1
		}
	}
	return lo, nil
}

// follower checks the order and completeness of the messages of one shard's
// stream as they are delivered.
type follower struct {
	shard   string
	from    uint64
	wantSeq uint64 // the stream sequence the next message must have
	started bool
	// The position reached: index idx, event pos of count.
	idx        uint64
	pos, count int
	done       uint64 // last index delivered completely
	lastOfIdx  bool
}

// accept checks the next delivered message and decodes its event. ok is false
// for messages to skip: ones Herald did not publish, and duplicates.
func (f *follower) accept(seq uint64, h nats.Header, data []byte) (ev event.Event, ok bool, err error) {
	mi, perr := parseMsgInfo(h)
	if seq != f.wantSeq {
		next := mi.index
		return ev, false, f.gap(next, fmt.Sprintf("stream sequences %d to %d are missing (expired or deleted)", f.wantSeq, seq-1))
	}
	f.wantSeq = seq + 1
	if perr != nil {
		// Someone published onto a Herald subject; it is not an event.
		return ev, false, nil
	}
	if !f.started {
		if mi.index < f.from {
			return ev, false, nil
		}
		switch {
		case mi.pos != 0:
			return ev, false, f.gap(mi.index, fmt.Sprintf("the first %d events of index %d are missing", mi.pos, mi.index))
		case f.from > 0 && mi.hasPrev && mi.prev >= f.from:
			return ev, false, f.gap(mi.index, fmt.Sprintf("index %d is missing (and any before it from %d)", mi.prev, f.from))
		case f.from > 0 && !mi.hasPrev && mi.index > f.from && seq > 1:
			// Earlier messages were removed and this one cannot say
			// what preceded it: assume the worst.
			return ev, false, f.gap(mi.index, fmt.Sprintf("cannot tell whether events between %d and %d were removed", f.from, mi.index))
		}
		f.started = true
	} else {
		switch {
		case mi.index < f.idx || (mi.index == f.idx && mi.pos <= f.pos):
			// Already delivered.
			return ev, false, nil
		case mi.index == f.idx:
			if mi.pos != f.pos+1 {
				return ev, false, f.gap(mi.index, fmt.Sprintf("events %d to %d of index %d are missing", f.pos+1, mi.pos-1, mi.index))
			}
		case !f.lastOfIdx:
			return ev, false, f.gap(mi.index, fmt.Sprintf("index %d ended after %d of its %d events", f.idx, f.pos+1, f.count))
		case mi.pos != 0:
			return ev, false, f.gap(mi.index, fmt.Sprintf("the first %d events of index %d are missing", mi.pos, mi.index))
		case mi.hasPrev && mi.prev > f.idx:
			return ev, false, f.gap(mi.index, fmt.Sprintf("index %d is missing (and any between %d and it)", mi.prev, f.idx))
		}
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, false, fmt.Errorf("watch: event %s:%d:%d: bad payload: %w", f.shard, mi.index, mi.pos, err)
	}
	if ev.Index != mi.index {
		return ev, false, fmt.Errorf("watch: event payload index %d differs from its %s header %s",
			ev.Index, HeaderIndex, strconv.FormatUint(mi.index, 10))
	}
	f.idx, f.pos, f.count, f.lastOfIdx = mi.index, mi.pos, mi.count, mi.lastOfIndex()
	return ev, true, nil
}

// delivered records that the event last accepted was handled.
func (f *follower) delivered() {
	if f.lastOfIdx {
		f.done = f.idx
	}
}

func (f *follower) gap(next uint64, detail string) error {
	return &GapError{Shard: f.shard, After: f.done, Next: next, Detail: detail}
}
