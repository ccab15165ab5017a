package watch

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
)

// Fetch reads batches that resume exactly by index, never split the events
// of an index, drop what Keep refuses while moving Last on, and report a
// gap for events the stream no longer holds.
func TestFetch(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	evs := genEvents(1, 20) // every fifth index has three events
	publishAll(t, nc, evs)
	js := jsFor(t, nc)
	ctx := context.Background()
	last := evs[len(evs)-1].Index

	// Batches of at most 4 events, whole indexes: all events, in order,
	// each once.
	var got []event.Event
	after := uint64(0)
	for after < last {
		res, err := Fetch(ctx, js, "dc1", FetchRequest{Shard: event.ShardKV, After: after, MaxEvents: 4})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Events) == 0 || res.Last <= after {
			t.Fatalf("batch after %d: %d events, Last %d", after, len(res.Events), res.Last)
		}
		// Beyond the limit only the rest of the index the limit fell in.
		for _, ev := range res.Events[min(4, len(res.Events)):] {
			if ev.Index != res.Events[3].Index {
				t.Errorf("batch after %d: %d events, beyond the limit index %d after %d", after, len(res.Events), ev.Index, res.Events[3].Index)
			}
		}
		if end := res.Events[len(res.Events)-1]; res.Last != end.Index {
			t.Errorf("batch after %d: Last %d, want its last event's %d", after, res.Last, end.Index)
		}
		got = append(got, res.Events...)
		after = res.Last
	}
	if len(got) != len(evs) {
		t.Fatalf("%d events in all, want %d", len(got), len(evs))
	}
	for i := range evs {
		if got[i].Index != evs[i].Index || got[i].Key != evs[i].Key {
			t.Fatalf("event %d: %d %s, want %d %s", i, got[i].Index, got[i].Key, evs[i].Index, evs[i].Key)
		}
	}

	// Keep refusing everything: no events, but Last moves to the end.
	res, err := Fetch(ctx, js, "dc1", FetchRequest{Shard: event.ShardKV, Keep: func(event.Event) bool { return false }})
	if err != nil || len(res.Events) != 0 || res.Last != last {
		t.Errorf("nothing kept: %d events, Last %d, %v; want none, Last %d", len(res.Events), res.Last, err, last)
	}
	// Nothing after the end: an empty batch once the wait is over.
	start := time.Now()
	res, err = Fetch(ctx, js, "dc1", FetchRequest{Shard: event.ShardKV, After: last, Wait: 200 * time.Millisecond})
	if err != nil || len(res.Events) != 0 || res.Last != last {
		t.Errorf("after the end: %+v %v", res, err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Errorf("an empty fetch answered before its wait")
	}

	// A deleted message (events[8], a whole index) is a gap for a fetch
	// that needs it.
	st, err := js.Stream(ctx, StreamName("dc1", event.ShardKV))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(ctx, 9); err != nil {
		t.Fatal(err)
	}
	_, err = Fetch(ctx, js, "dc1", FetchRequest{Shard: event.ShardKV, After: evs[7].Index})
	var gap *GapError
	if !errors.As(err, &gap) || gap.After != evs[7].Index || gap.Next != evs[9].Index {
		t.Errorf("fetch across a deleted message: %v, want a gap after %d, next %d", err, evs[7].Index, evs[9].Index)
	}
}
