package watch

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishAll publishes evs through a Publisher and waits until all are acked.
func publishAll(t *testing.T, nc *nats.Conn, evs []event.Event) (*memLog, *Publisher) {
	t.Helper()
	log := newMemLog()
	log.drop = true
	log.Append(evs...)
	p := newTestPublisher(t, nc, log)
	runPublisher(t, p)
	last := evs[len(evs)-1].Index
	poll.True(t, waitLong, "events published", func() bool { return p.PublishedIndex() == last })
	return log, p
}

// received collects what a subscription's handler was given.
type received struct{ ch chan event.Event }

func (r *received) handler(e event.Event) error { r.ch <- e; return nil }

func (r *received) expect(t *testing.T, want []event.Event) {
	t.Helper()
	for i, w := range want {
		select {
		case got := <-r.ch:
			if got.Index != w.Index || got.Key != w.Key || got.Type != w.Type {
				t.Fatalf("event %d: got %d %s %s, want %d %s %s", i, got.Index, got.Type, got.Key, w.Index, w.Type, w.Key)
			}
		case <-time.After(waitLong):
			t.Fatalf("got %d of %d events", i, len(want))
		}
	}
}

func (r *received) none(t *testing.T) {
	t.Helper()
	select {
	case got := <-r.ch:
		t.Fatalf("unexpected event %d %s", got.Index, got.Key)
	default:
	}
}

func jsFor(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func since(evs []event.Event, from uint64) []event.Event {
	var out []event.Event
	for _, e := range evs {
		if e.Index >= from {
			out = append(out, e)
		}
	}
	return out
}

func TestSubscribeFromMiddle(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	evs := genEvents(1, 300)
	log, p := publishAll(t, nc, evs)

	// An index that has events, one in a hole of the numbering, the
	// first, and one past the end.
	mid := evs[len(evs)/2].Index
	hole := mid + 1
	for since(evs, hole)[0].Index == hole {
		hole++
	}
	last := evs[len(evs)-1].Index
	for _, from := range []uint64{mid, hole, 0, 1, last + 1} {
		t.Run(strconv.FormatUint(from, 10), func(t *testing.T) {
			r := &received{ch: make(chan event.Event, len(evs)+100)}
			stop, errs, err := Subscribe(context.Background(), jsFor(t, nc), "dc1", event.ShardKV, from, r.handler)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			r.expect(t, since(evs, from))
			r.none(t)
			select {
			case err := <-errs:
				t.Fatalf("subscription ended: %v", err)
			default:
			}
		})
	}

	// Live: a subscription from the middle also gets what is published
	// after it started.
	r := &received{ch: make(chan event.Event, len(evs)+100)}
	stop, errs, err := Subscribe(context.Background(), jsFor(t, nc), "dc1", event.ShardKV, hole, r.handler)
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, since(evs, hole))
	more := genEvents(last+1, 30)
	log.Append(more...)
	poll.True(t, waitLong, "more published", func() bool { return p.PublishedIndex() == more[len(more)-1].Index })
	r.expect(t, more)
	stop()
	stop() // twice is fine
	if err, ok := <-errs; ok {
		t.Fatalf("stopped subscription reported %v", err)
	}
}

func TestSubscribeEndsWithContext(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	publishAll(t, nc, genEvents(1, 10))
	ctx, cancel := context.WithCancel(context.Background())
	r := &received{ch: make(chan event.Event, 100)}
	_, errs, err := Subscribe(ctx, jsFor(t, nc), "dc1", event.ShardKV, 0, r.handler)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err, ok := <-errs:
		if ok {
			t.Fatalf("cancelled subscription reported %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("subscription did not end with its context")
	}
}

func TestSubscribeHandlerError(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	evs := genEvents(1, 10)
	publishAll(t, nc, evs)
	boom := errors.New("boom")
	n := 0
	stop, errs, err := Subscribe(context.Background(), jsFor(t, nc), "dc1", event.ShardKV, 0, func(e event.Event) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	select {
	case err := <-errs:
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the handler's error", err)
		}
	case <-time.After(waitLong):
		t.Fatal("handler error not reported")
	}
	if n != 3 {
		t.Errorf("handler called %d times, want 3", n)
	}
}

func TestSubscribeNoStream(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	if _, _, err := Subscribe(context.Background(), jsFor(t, nc), "nowhere", event.ShardKV, 0, func(event.Event) error { return nil }); err == nil {
		t.Fatal("subscribed to a stream that does not exist")
	}
}

// expectGap waits for the subscription to end with a gap.
func expectGap(t *testing.T, errs <-chan error) *GapError {
	t.Helper()
	select {
	case err := <-errs:
		var g *GapError
		if !errors.As(err, &g) || !errors.Is(err, ErrGap) {
			t.Fatalf("subscription ended with %v, want a gap", err)
		}
		return g
	case <-time.After(waitLong):
		t.Fatal("no gap reported")
	}
	return nil
}

func TestSubscribeGapDeletedMessage(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	evs := genEvents(1, 20) // index groups: events 0..3 single, 4..6 one index
	publishAll(t, nc, evs)
	js := jsFor(t, nc)
	st, err := js.Stream(context.Background(), StreamName("dc1", event.ShardKV))
	if err != nil {
		t.Fatal(err)
	}
	// Sequence 9 holds events[8], a whole index of one event.
	if err := st.DeleteMsg(context.Background(), 9); err != nil {
		t.Fatal(err)
	}
	r := &received{ch: make(chan event.Event, 100)}
	stop, errs, err := Subscribe(context.Background(), js, "dc1", event.ShardKV, 0, r.handler)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	r.expect(t, evs[:8])
	g := expectGap(t, errs)
	if g.After != evs[7].Index || g.Next != evs[9].Index || g.Shard != event.ShardKV {
		t.Errorf("gap %+v, want After %d Next %d", g, evs[7].Index, evs[9].Index)
	}
	r.none(t)
}

func TestSubscribeGapAtStart(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	evs := genEvents(1, 20)
	publishAll(t, nc, evs)
	js := jsFor(t, nc)
	st, err := js.Stream(context.Background(), StreamName("dc1", event.ShardKV))
	if err != nil {
		t.Fatal(err)
	}
	// Keep sequences 11 on (events[10:]): as if the oldest expired.
	if err := st.Purge(context.Background(), jetstream.WithPurgeSequence(11)); err != nil {
		t.Fatal(err)
	}
	first, before := evs[10].Index, evs[9].Index

	// The subscriber has everything before `first`'s predecessor+1: no gap.
	r := &received{ch: make(chan event.Event, 100)}
	stop, errs, err := Subscribe(context.Background(), js, "dc1", event.ShardKV, before+1, r.handler)
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, evs[10:])
	stop()
	if err, ok := <-errs; ok {
		t.Fatalf("unexpected end: %v", err)
	}

	// A subscriber that still needs index `before` is told.
	_, errs, err = Subscribe(context.Background(), js, "dc1", event.ShardKV, before, r.handler)
	if err != nil {
		t.Fatal(err)
	}
	g := expectGap(t, errs)
	if g.After != before-1 || g.Next != first {
		t.Errorf("gap %+v, want After %d Next %d", g, before-1, first)
	}
	if !strings.Contains(g.Error(), "missing") {
		t.Errorf("gap message %q does not say what is missing", g.Error())
	}
}

// hdr builds the Herald headers of one stored event.
func hdr(index uint64, pos, count int, prev int64) nats.Header {
	h := nats.Header{
		jetstream.MsgIDHeader: {msgID("kv", index, pos)},
		HeaderIndex:           {strconv.FormatUint(index, 10)},
		HeaderCount:           {strconv.Itoa(count)},
	}
	if prev >= 0 {
		h[HeaderPrevIndex] = []string{strconv.FormatInt(prev, 10)}
	}
	return h
}

func payload(index uint64) []byte {
	return []byte(`{"Type":"kv.updated","Shard":"kv","Index":` + strconv.FormatUint(index, 10) + `,"Key":"k"}`)
}

// TestFollower runs the gap checks on made-up message sequences, including
// losses the stream cannot show by sequence numbers alone (a publisher that
// skipped an index).
func TestFollower(t *testing.T) {
	type msg struct {
		seq   uint64
		index uint64
		pos   int
		count int
		prev  int64 // -1: no header
	}
	cases := []struct {
		name      string
		from      uint64
		start     uint64
		msgs      []msg
		delivered int    // events delivered before the end
		gap       bool   // ends with a gap at the last message
		after     uint64 // the gap's After
	}{
		{"in order", 0, 1, []msg{{1, 3, 0, 1, -1}, {2, 5, 0, 2, 3}, {3, 5, 1, 2, 3}, {4, 9, 0, 1, 5}}, 4, false, 0},
		{"skipped index", 0, 1, []msg{{1, 3, 0, 1, -1}, {2, 9, 0, 1, 5}}, 1, true, 3},
		{"index cut short", 0, 1, []msg{{1, 3, 0, 2, -1}, {2, 9, 0, 1, 3}}, 1, true, 0},
		{"middle of index missing", 0, 1, []msg{{1, 3, 0, 3, -1}, {2, 3, 2, 3, -1}}, 1, true, 0},
		{"starts mid-index", 0, 1, []msg{{1, 3, 1, 2, -1}}, 0, true, 0},
		{"sequence jump", 0, 1, []msg{{1, 3, 0, 1, -1}, {3, 5, 0, 1, 3}}, 1, true, 3},
		{"first later than start", 4, 7, []msg{{8, 5, 0, 1, 3}}, 0, true, 3},
		{"needed index expired", 4, 7, []msg{{7, 6, 0, 1, 4}}, 0, true, 3},
		{"start after a hole", 4, 7, []msg{{7, 6, 0, 1, 3}}, 1, false, 0},
		{"unknown predecessor after removal", 4, 7, []msg{{7, 6, 0, 1, -1}}, 0, true, 3},
		{"unknown predecessor at seq 1", 4, 1, []msg{{1, 6, 0, 1, -1}}, 1, false, 0},
		{"duplicate skipped", 0, 1, []msg{{1, 3, 0, 1, -1}, {2, 3, 0, 1, -1}, {3, 5, 0, 1, 3}}, 2, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &follower{shard: "kv", from: c.from, wantSeq: c.start, done: c.from - min(c.from, 1)}
			delivered := 0
			for i, m := range c.msgs {
				_, ok, err := f.accept(m.seq, hdr(m.index, m.pos, m.count, m.prev), payload(m.index))
				if err != nil {
					var g *GapError
					if !c.gap || i != len(c.msgs)-1 || !errors.As(err, &g) {
						t.Fatalf("message %d: %v", i, err)
					}
					if g.After != c.after || g.Next != m.index {
						t.Errorf("gap %+v, want After %d Next %d", g, c.after, m.index)
					}
					break
				}
				if c.gap && i == len(c.msgs)-1 {
					t.Fatalf("no gap reported")
				}
				if ok {
					delivered++
					f.delivered()
				}
			}
			if delivered != c.delivered {
				t.Errorf("delivered %d events, want %d", delivered, c.delivered)
			}
		})
	}
}
