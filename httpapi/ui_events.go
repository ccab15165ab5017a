package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/watch"
)

// EventTail is the agent's event stream (docs/events.md) as the UI's
// events topic follows it.
type EventTail interface {
	// Shards are the shards of the stream, each with the index this agent
	// has seen last: a tail with nothing to resume from starts after it.
	Shards() map[string]uint64
	// Follow delivers the events of shard from fromIndex on (watch.Subscribe)
	// until ctx ends; the subscription's end comes on the channel.
	Follow(ctx context.Context, shard string, fromIndex uint64, handler func(event.Event) error) (<-chan error, error)
	// Subject is the subject an event is published on.
	Subject(ev event.Event) string
	// ReadFilter reports whether authz may read a subject's events, by the
	// rule that lets NATS connections subscribe.
	ReadFilter(authz acl.Authorizer) func(subject string) bool
}

// SetEventTail gives the server the event stream of the events topic;
// without one, the topic answers that it is not available. Call it before
// the server serves its first request.
func (s *Server) SetEventTail(t EventTail) { s.eventTail = t }

// tailedEvent is the data of an `event: event` message.
type tailedEvent struct {
	Subject string
	event.Event
}

// streamPosition is where a tail is in each shard: the last index it
// delivered an event of, and how many events of that index it delivered
// (an index may hold many, a transaction's). Its text,
// "catalog:12.1,kv:40.3", is the id of the tail's messages.
type streamPosition map[string]position

type position struct{ index, seen uint64 }

func (p streamPosition) String() string {
	shards := make([]string, 0, len(p))
	for shard := range p {
		shards = append(shards, shard)
	}
	sort.Strings(shards)
	var b strings.Builder
	for i, shard := range shards {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d.%d", shard, p[shard].index, p[shard].seen)
	}
	return b.String()
}

// parsePosition reads a tail's message id: where to resume each shard,
// and how many events of that index to skip (the page had them); a shard
// without ".n" had every event of its index.
func parsePosition(raw string) (streamPosition, map[string]uint64, error) {
	p, skip := streamPosition{}, map[string]uint64{}
	bad := badRequest("Invalid event position %q", raw)
	for _, part := range strings.Split(raw, ",") {
		shard, at, ok := strings.Cut(part, ":")
		if !ok {
			return nil, nil, bad
		}
		idx, seen, partial := strings.Cut(at, ".")
		i, err := strconv.ParseUint(idx, 10, 64)
		if err != nil {
			return nil, nil, bad
		}
		if !partial {
			p[shard] = position{index: i + 1}
			continue
		}
		n, err := strconv.ParseUint(seen, 10, 64)
		if err != nil {
			return nil, nil, bad
		}
		p[shard], skip[shard] = position{index: i, seen: n}, n
	}
	return p, skip, nil
}

// tailItem is what a shard's subscription hands the stream: an event, or
// the subscription's end.
type tailItem struct {
	shard string
	ev    event.Event
	end   error
}

// streamEvents is the events topic of the UI's stream: the live tail of
// the event stream, each event the token may read (by the NATS rule) and
// that ?subject= matches, resumed exactly from Last-Event-ID (or ?index=).
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	if s.eventTail == nil {
		return fmt.Errorf("%w: the event stream", agenterr.ErrUnavailable)
	}
	filter := r.URL.Query().Get("subject")
	if filter != "" && !server.IsValidSubject(filter) {
		return badRequest("Invalid subject filter %q", filter)
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("the connection cannot stream")
	}
	pos, skip := streamPosition{}, map[string]uint64{}
	// The browser sends Last-Event-ID when it reconnects by itself; a page
	// that opens the stream again after an HTTP error can only pass the
	// position it saw in the address.
	raw := r.Header.Get("Last-Event-ID")
	if raw == "" {
		raw = r.URL.Query().Get("index")
	}
	if raw != "" {
		var err error
		if pos, skip, err = parsePosition(raw); err != nil {
			return err
		}
	}
	// resumed are the shards the page has seen events of: a gap in them is
	// news to the page; in the others the tail just starts where it can.
	resumed := map[string]bool{}
	for shard := range pos {
		resumed[shard] = true
	}
	for shard, index := range s.eventTail.Shards() {
		if _, ok := pos[shard]; !ok {
			pos[shard] = position{index: index + 1}
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	items := make(chan tailItem, 256)
	follow := func(shard string) error {
		from := pos[shard].index
		errs, err := s.eventTail.Follow(ctx, shard, from, func(ev event.Event) error {
			select {
			case items <- tailItem{shard: shard, ev: ev}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil {
			return err
		}
		go func() {
			err := <-errs
			select {
			case items <- tailItem{shard: shard, end: err}:
			case <-ctx.Done():
			}
		}()
		return nil
	}
	for shard := range pos {
		if err := follow(shard); err != nil {
			return err
		}
	}
	a := requestAuthorizer(r)
	mayRead := func(string) bool { return true }
	if a != nil {
		mayRead = s.eventTail.ReadFilter(a)
	}
	startStream(w)
	flusher.Flush()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	// Messages are flushed at most every coalesceEvery: a burst goes out
	// in one write.
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	pending, lastFlush := false, time.Time{}
	for {
		select {
		case it := <-items:
			if it.end != nil || it.ev.Index == 0 {
				var gap *watch.GapError
				if !errors.As(it.end, &gap) {
					return nil // the subscription ended: the page reconnects
				}
				// The stream no longer holds what the page missed: say so,
				// and go on from what it holds.
				pos[it.shard], skip[it.shard] = position{index: gap.Next}, 0
				if resumed[it.shard] {
					if err := writeEvent(w, "gap", pos.String(), gap); err != nil {
						return nil
					}
					pending = true
				}
				if err := follow(it.shard); err != nil {
					return nil
				}
				break
			}
			p := pos[it.shard]
			if it.ev.Index < p.index {
				continue
			}
			if it.ev.Index == p.index && skip[it.shard] > 0 {
				skip[it.shard]--
				continue // the page had it before it reconnected
			}
			skip[it.shard] = 0
			if it.ev.Index == p.index {
				p.seen++
			} else {
				p = position{index: it.ev.Index, seen: 1}
			}
			pos[it.shard] = p
			resumed[it.shard] = true
			subject := s.eventTail.Subject(it.ev)
			if !mayRead(subject) || (filter != "" && !server.SubjectMatchesFilter(subject, filter)) {
				continue
			}
			if err := writeEvent(w, "event", pos.String(), tailedEvent{Subject: subject, Event: it.ev}); err != nil {
				return nil
			}
			pending = true
		case <-flush.C:
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
			pending = true
			if a != nil {
				now, err := s.reauthorize(r)
				if err != nil {
					return nil // the token was deleted
				}
				mayRead = s.eventTail.ReadFilter(now)
			}
		case <-ctx.Done():
			return nil
		case <-stopping(r.Context()):
			return nil
		}
		if pending {
			if wait := coalesceEvery - time.Since(lastFlush); wait > 0 {
				flush.Reset(wait)
				continue
			}
			flusher.Flush()
			pending, lastFlush = false, time.Now()
		}
	}
}
