//go:build unix

package robustness

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/watch"
)

// streamEvent is one message of a shard's event stream, as stored.
type streamEvent struct {
	Seq, Index, Prev uint64
	HasPrev          bool
	Pos, Count       int
	Event            event.Event
}

// readStream reads every message of the kv shard's stream on server s's
// own NATS server (each server carries the whole stream, published from
// its own copy: docs/events.md), by direct get, first to last sequence.
func readStream(ctx context.Context, s *bench.Herald) ([]streamEvent, error) {
	nc, err := nats.Connect(s.NATSURL(), nats.Name("herald-robustness"), nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, watch.StreamName(datacenter, "kv"))
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []streamEvent
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			return out, fmt.Errorf("sequence %d: %w", seq, err)
		}
		e := streamEvent{Seq: seq}
		e.Index, _ = strconv.ParseUint(m.Header.Get(watch.HeaderIndex), 10, 64)
		if p := m.Header.Get(watch.HeaderPrevIndex); p != "" {
			e.Prev, _ = strconv.ParseUint(p, 10, 64)
			e.HasPrev = true
		}
		e.Count, _ = strconv.Atoi(m.Header.Get(watch.HeaderCount))
		id := m.Header.Get("Nats-Msg-Id") // <shard>:<index>:<n>
		e.Pos, _ = strconv.Atoi(id[strings.LastIndex(id, ":")+1:])
		if err := json.Unmarshal(m.Data, &e.Event); err != nil {
			return out, fmt.Errorf("sequence %d: %w", seq, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// CheckStream checks the kv shard's event stream on every server against
// the history: each server's stream holds every index once, in order,
// each with all of its events and none twice, and names the index before
// it (Herald-Prev-Index) without a gap; every write a client saw succeed
// is in it exactly once, no write refused is in it, and no write is in it
// twice (values are unique, so a value found twice is a write applied
// twice); replaying it gives
// the values the final reads saw; and all servers' streams agree. It
// waits (up to a minute) for each stream to reach the final reads'
// indexes first.
func CheckStream(c *Cluster, ops []*Op, final map[string]*Op) (problems []string, summary string) {
	var want uint64
	for _, o := range final {
		want = max(want, o.GotIndex)
	}
	var streams [][]streamEvent
	var sizes []string
	for _, s := range c.Servers() {
		var events []streamEvent
		var err error
		state, ok := poll.Until(time.Minute, func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			events, err = readStream(ctx, s)
			if err != nil {
				return false, err.Error()
			}
			if n := len(events); n == 0 || events[n-1].Index < want {
				return false, fmt.Sprintf("%d events, the last index %d of at least %d", n, lastIndex(events), want)
			}
			return true, ""
		})
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: the stream did not reach index %d: %s", s.Config.Node, want, state))
			continue
		}
		for _, p := range checkOrder(events) {
			problems = append(problems, s.Config.Node+": "+p)
		}
		for _, p := range checkAgainstHistory(events, ops, final) {
			problems = append(problems, s.Config.Node+": "+p)
		}
		streams = append(streams, events)
		sizes = append(sizes, fmt.Sprintf("%s %d", s.Config.Node, len(events)))
	}
	for i := 1; i < len(streams); i++ {
		if p := sameEvents(streams[0], streams[i]); p != "" {
			problems = append(problems, fmt.Sprintf("the streams of two servers differ: %s", p))
		}
	}
	return problems, "events in each server's kv stream: " + strings.Join(sizes, ", ")
}

func lastIndex(events []streamEvent) uint64 {
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].Index
}

// checkOrder checks one stream's structure: indexes only grow, each
// index's events come at positions 0..Count-1 once each, and each index
// names the one before it.
func checkOrder(events []streamEvent) []string {
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var prevIndex uint64
	next := 0 // the position expected next within the current index
	for i, e := range events {
		switch {
		case i > 0 && e.Index < prevIndex:
			report("sequence %d: index %d after %d", e.Seq, e.Index, prevIndex)
		case i > 0 && e.Index == prevIndex:
			if e.Pos != next {
				report("sequence %d: index %d event %d where %d was due (a repeat or a loss)", e.Seq, e.Index, e.Pos, next)
			}
			next = e.Pos + 1
		default:
			if i > 0 && next != events[i-1].Count {
				report("sequence %d: index %d ended after %d of its %d events", e.Seq, prevIndex, next, events[i-1].Count)
			}
			if e.Pos != 0 {
				report("sequence %d: index %d starts at event %d", e.Seq, e.Index, e.Pos)
			}
			if i > 0 && e.HasPrev && e.Prev != prevIndex {
				report("sequence %d: index %d names %d as the index before it, the stream had %d (a gap)", e.Seq, e.Index, e.Prev, prevIndex)
			}
			next = e.Pos + 1
		}
		prevIndex = e.Index
	}
	return problems
}

// checkAgainstHistory compares the events of the test's keys with what
// the clients were told and what they read last.
func checkAgainstHistory(events []streamEvent, ops []*Op, final map[string]*Op) []string {
	var problems []string
	count := map[string]int{} // key + value
	last := map[string]*event.Event{}
	for i := range events {
		e := &events[i].Event
		if !strings.HasPrefix(e.Key, registerPrefix) && !strings.HasPrefix(e.Key, lockPrefix) {
			continue
		}
		last[e.Key] = e
		if e.Type == event.KVUpdated && !isLock(e.Key) && e.KV != nil {
			k := e.Key + "\x00" + string(e.KV.Value)
			count[k]++
			if count[k] == 2 && len(problems) < 10 {
				problems = append(problems, fmt.Sprintf("%s = %q is in the stream twice (the second at index %d): a write applied twice", e.Key, e.KV.Value, e.Index))
			}
		}
	}
	missing := 0
	for _, o := range ops {
		if (o.Kind == Put || o.Kind == CAS) && o.Outcome == OK && o.Result && count[o.Key+"\x00"+o.Value] == 0 {
			if missing++; missing <= 5 {
				problems = append(problems, fmt.Sprintf("an acknowledged write is not in the stream: %s", o))
			}
		}
	}
	for _, o := range ops {
		if (o.Kind == Put || o.Kind == CAS) && o.Outcome == Refused && count[o.Key+"\x00"+o.Value] > 0 && len(problems) < 20 {
			problems = append(problems, fmt.Sprintf("a refused write took effect: %s", o))
		}
	}
	if missing > 5 {
		problems = append(problems, fmt.Sprintf("... %d acknowledged writes in all are not in the stream", missing))
	}
	for key, f := range final {
		e := last[key]
		var found bool
		var got string
		if e != nil && e.Type == event.KVUpdated && e.KV != nil {
			found = true
			if got = string(e.KV.Value); isLock(key) {
				got = e.KV.Session
			}
		}
		if found != f.Found || got != f.Got {
			problems = append(problems, fmt.Sprintf("replaying the stream gives %s = %q (present %v); the final read: %s", key, got, found, f))
		}
	}
	return problems
}

// sameEvents compares two servers' streams event by event, by index,
// position, type, key and value.
func sameEvents(a, b []streamEvent) string {
	describe := func(e streamEvent) string {
		s := fmt.Sprintf("%d/%d %s %s", e.Index, e.Pos, e.Event.Type, e.Event.Key)
		if e.Event.KV != nil {
			s += fmt.Sprintf(" %q %s", e.Event.KV.Value, short(e.Event.KV.Session))
		}
		return s
	}
	for i := 0; i < min(len(a), len(b)); i++ {
		if da, db := describe(a[i]), describe(b[i]); da != db {
			return fmt.Sprintf("event %d: %s, and %s", i, da, db)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d events, and %d", len(a), len(b))
	}
	return ""
}
