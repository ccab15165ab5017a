package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/event"
)

// FetchRequest asks for one batch of a shard's events: a pull that needs no
// subscription state between batches, resumable exactly by index (another
// datacenter's feed, KV replication).
type FetchRequest struct {
	Shard string
	// After: only events of later indexes.
	After uint64
	// Keep reports whether an event belongs in the answer (a key prefix,
	// what a token may read); nil keeps every event. Events it drops
	// still move Last on.
	Keep func(event.Event) bool
	// MaxEvents and MaxBytes (of the events' JSON) bound the answer; the
	// events of one index are never split, so the answer may exceed them
	// by the rest of its last index.
	MaxEvents int
	MaxBytes  int
	// Wait is how long to wait for the first event kept when there is
	// none yet.
	Wait time.Duration
}

// FetchResult is a batch of events.
type FetchResult struct {
	Events []event.Event
	// Last is the index the batch covers up to: every event of the shard
	// with After < index <= Last that Keep keeps is in Events. Ask for the
	// next batch with After = Last. At least After.
	Last uint64
}

// fetchScanMax bounds the messages one fetch reads, so that a busy stream
// whose events are all dropped still answers now and then, with Last
// moved on.
const fetchScanMax = 10_000

// fetchConsumerInactive is when the server drops a fetch's consumer that
// nobody deleted.
const fetchConsumerInactive = 30 * time.Second

// fetchIndexWait is how long a fetch waits for the rest of an index whose
// first events it has read: the publisher sends them together.
const fetchIndexWait = 2 * time.Second

// Fetch reads one batch of the events of shard in datacenter dc after
// req.After from its stream, in index order. Events the stream no longer
// holds (expired or deleted) are a *GapError, as for Subscribe.
func Fetch(ctx context.Context, js jetstream.JetStream, dc string, req FetchRequest) (FetchResult, error) {
	out := FetchResult{Last: req.After}
	name := StreamName(dc, req.Shard)
	s, err := js.Stream(ctx, name)
	if err != nil {
		return out, fmt.Errorf("watch: fetch from stream %s: %w", name, err)
	}
	state := s.CachedInfo().State
	start, err := findStartSeq(ctx, s, StreamSubjects(dc, req.Shard), state.FirstSeq, state.LastSeq, req.After+1)
	if err != nil {
		return out, err
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
		// A fetch's consumer is deleted when it ends (below); this is
		// for one whose deletion was lost, which would otherwise stay
		// the library's 5 minutes: a follower pulls many times a second.
		InactiveThreshold: fetchConsumerInactive,
	})
	if err != nil {
		return out, fmt.Errorf("watch: consumer on stream %s: %w", name, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return out, fmt.Errorf("watch: consume stream %s: %w", name, err)
	}
	defer func() {
		it.Stop()
		if info := cons.CachedInfo(); info != nil {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
				defer cancel()
				js.DeleteConsumer(ctx, name, info.Name)
			}()
		}
	}()

	f := &follower{shard: req.Shard, from: req.After + 1, wantSeq: start, done: req.After}
	var (
		events   []event.Event // kept, the last index possibly incomplete
		size     int
		scanned  int
		deadline = time.Now().Add(req.Wait)
	)
	full := func() bool {
		return (req.MaxEvents > 0 && len(events) >= req.MaxEvents) || (req.MaxBytes > 0 && size >= req.MaxBytes) ||
			scanned >= fetchScanMax
	}
	// pending: the stream holds messages not read yet, which come at once.
	pending := start <= state.LastSeq
	for {
		wait := time.Until(deadline)
		if !f.started || f.lastOfIdx {
			// Between indexes: answer when full, when nothing is
			// pending and there is something to answer, or at the
			// deadline.
			if full() || (!pending && len(events) > 0) || (!pending && wait <= 0) {
				return finish(out, events, f.done), nil
			}
		}
		if pending || (f.started && !f.lastOfIdx) {
			// Messages on their way, or the rest of an index.
			wait = max(wait, fetchIndexWait)
		}
		if d, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(d))
		}
		if ctx.Err() != nil || wait <= 0 {
			return out, context.DeadlineExceeded
		}
		msg, err := it.Next(jetstream.NextMaxWait(wait))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			return finish(out, events, f.done), nil
		}
		if err != nil {
			return out, fmt.Errorf("watch: fetch from stream %s: %w", name, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return out, fmt.Errorf("watch: fetch from stream %s: %w", name, err)
		}
		scanned++
		pending = meta.NumPending > 0
		ev, ok, err := f.accept(meta.Sequence.Stream, msg.Headers(), msg.Data())
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		f.delivered()
		if req.Keep == nil || req.Keep(ev) {
			events = append(events, ev)
			size += len(msg.Data())
		}
	}
}

// finish is the answer up to done, the last index read whole: the events of
// a later index (incomplete) are read again by the next fetch.
func finish(out FetchResult, events []event.Event, done uint64) FetchResult {
	n := len(events)
	for n > 0 && events[n-1].Index > done {
		n--
	}
	out.Events = events[:n]
	out.Last = max(out.Last, done)
	return out
}
