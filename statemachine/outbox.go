package statemachine

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
)

// The outbox is the part of the state machine the event publisher reads:
// events are written to it in the same batch as the change that caused them,
// so a crash between commit and publish loses nothing; the publisher reads
// them in index order and says when they may go.
//
// A publisher that keeps up reads only the most recent events, so those are
// also kept in memory (the tail) and served from there, without a Pebble
// scan or a JSON decode; the Pebble copy is for a publisher that fell behind
// and for restarts.

// tailMaxEvents bounds the in-memory tail.
const tailMaxEvents = 16384

type indexEvents struct {
	index  uint64
	events []event.Event
}

// outboxTail holds the newest outbox events. It covers every index from
// `from` on: an index in that range with no entry in groups caused no event.
type outboxTail struct {
	mu     sync.Mutex
	from   uint64
	groups []indexEvents
	count  int
}

func (t *outboxTail) reset(next uint64) {
	t.mu.Lock()
	t.from, t.groups, t.count = next, nil, 0
	t.mu.Unlock()
}

func (t *outboxTail) append(groups []indexEvents) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range groups {
		t.groups = append(t.groups, g)
		t.count += len(g.events)
	}
	drop := 0
	for t.count > tailMaxEvents && drop < len(t.groups)-1 {
		t.count -= len(t.groups[drop].events)
		t.from = t.groups[drop].index + 1
		drop++
	}
	if drop > 0 {
		// Reslicing is enough; the backing array is copied only when
		// append outgrows it, so trimming costs O(1) per event.
		clear(t.groups[:drop])
		t.groups = t.groups[drop:]
	}
}

// read serves Read from memory when the tail covers every index after
// `after`; ok is false when the caller must read Pebble instead.
func (t *outboxTail) read(after uint64, max int) (out []event.Event, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.from == 0 || after+1 < t.from {
		return nil, false
	}
	i := sort.Search(len(t.groups), func(i int) bool { return t.groups[i].index > after })
	// Size the answer first: the publisher reads on every wake, and
	// growing the slice by appends was most of what a read allocated.
	n, end := 0, i
	for ; end < len(t.groups) && n < max; end++ {
		n += len(t.groups[end].events)
	}
	if n == 0 {
		return nil, true
	}
	out = make([]event.Event, 0, n)
	for ; i < end; i++ {
		out = append(out, t.groups[i].events...)
	}
	return out, true
}

func (s *StateMachine) notifyOutbox() {
	s.wakeMu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.wakeMu.Unlock()
}

// Wait returns a channel that is closed when new events reach the outbox.
func (s *StateMachine) Wait() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	return s.wake
}

// Read returns outbox events with an index above after, oldest first. It
// stops once it has at least max events, but never in the middle of one
// index's events.
func (s *StateMachine) Read(after uint64, max int) ([]event.Event, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	if out, ok := s.tail.read(after, max); ok {
		return out, nil
	}
	it := s.db.NewIter(&pebble.IterOptions{
		LowerBound: indexKey(areaOutbox, after+1),
		UpperBound: areaEnd(areaOutbox),
	})
	defer it.Close()
	var out []event.Event
	for ok := it.First(); ok && len(out) < max; ok = it.Next() {
		var evs []event.Event
		if err := json.Unmarshal(it.Value(), &evs); err != nil {
			return nil, fmt.Errorf("outbox entry %d: %w", binary.BigEndian.Uint64(it.Key()[1:]), err)
		}
		out = append(out, evs...)
	}
	return out, it.Error()
}

// outboxTrimEvery is how many published indexes the outbox collects before
// it deletes them: one range deletion per index would litter Pebble with
// range tombstones. Left-over published events after a restart are harmless,
// since the publisher skips what the stream already holds.
const outboxTrimEvery = 4096

// Published lets the outbox drop its events up to and including index.
func (s *StateMachine) Published(index uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil || index < s.outboxTrimmed.Load()+outboxTrimEvery {
		return
	}
	if err := s.db.DeleteRange(indexKey(areaOutbox, 0), indexKey(areaOutbox, index+1), pebble.NoSync); err != nil {
		s.log.Warn("cannot trim the event outbox", "error", err)
		return
	}
	s.outboxTrimmed.Store(index)
}
