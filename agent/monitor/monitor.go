package monitor

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// BufferLines is how many formatted lines a subscriber may have waiting;
// Consul's monitor keeps as many.
const BufferLines = 512

// Handler is the agent's log handler: see the package comment.
type Handler struct {
	base slog.Handler
	hub  *hub
	// ops are the WithAttrs and WithGroup calls that made this handler
	// from the root, in order, to be replayed for the subscribers.
	ops []op
}

type op struct {
	group string // a WithGroup when set, else a WithAttrs
	attrs []slog.Attr
}

// New wraps the agent's handler.
func New(base slog.Handler) *Handler {
	h := &hub{subs: map[*Subscription]struct{}{}}
	h.minLevel.Store(math.MaxInt64)
	return &Handler{base: base, hub: h}
}

// Enabled reports whether the agent's handler or any subscriber wants the
// level: a subscriber at debug gets debug records from an agent at info.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.hub.wants(l) || h.base.Enabled(ctx, l)
}

// Handle writes the record to the agent's log and hands it to the
// subscribers.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.base.Enabled(ctx, r.Level) {
		err = h.base.Handle(ctx, r)
	}
	if h.hub.wants(r.Level) {
		h.hub.publish(ctx, h.ops, r)
	}
	return err
}

// WithAttrs returns a handler whose records carry attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return &Handler{base: h.base.WithAttrs(attrs), hub: h.hub, ops: append(slices.Clip(h.ops), op{attrs: attrs})}
}

// WithGroup returns a handler whose later attributes are in the group.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{base: h.base.WithGroup(name), hub: h.hub, ops: append(slices.Clip(h.ops), op{group: name})}
}

// Subscribe starts a subscription to records at level and above, as text
// lines in the format of slog's TextHandler or, with json, JSONHandler's.
// Close it when done.
func (h *Handler) Subscribe(level slog.Level, json bool) *Subscription {
	s := &Subscription{hub: h.hub, level: level, json: json, lines: make(chan []byte, BufferLines)}
	h.hub.mu.Lock()
	h.hub.subs[s] = struct{}{}
	h.hub.updateMin()
	h.hub.mu.Unlock()
	return s
}

// Subscription is one reader of the log.
type Subscription struct {
	hub     *hub
	level   slog.Level
	json    bool
	lines   chan []byte
	dropped atomic.Int64
}

// Lines delivers the formatted records, each ending in a newline.
func (s *Subscription) Lines() <-chan []byte { return s.lines }

// Close ends the subscription and returns how many lines it lost because
// its reader fell behind.
func (s *Subscription) Close() int64 {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.updateMin()
	s.hub.mu.Unlock()
	return s.dropped.Load()
}

type hub struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
	// minLevel is the lowest level any subscriber wants, MaxInt64 with
	// none: the check on every log call is one atomic load.
	minLevel atomic.Int64
}

func (h *hub) wants(l slog.Level) bool { return int64(l) >= h.minLevel.Load() }

// updateMin recomputes minLevel; the caller holds mu.
func (h *hub) updateMin() {
	m := int64(math.MaxInt64)
	for s := range h.subs {
		m = min(m, int64(s.level))
	}
	h.minLevel.Store(m)
}

func (h *hub) publish(ctx context.Context, ops []op, r slog.Record) {
	// The record with the attributes and groups of the handler it came
	// through, so that a subscriber's line reads as the agent's does.
	rec := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	rec.AddAttrs(withOps(ops, r)...)
	h.mu.RLock()
	defer h.mu.RUnlock()
	var text, json []byte
	for s := range h.subs {
		if r.Level < s.level {
			continue
		}
		line := &text
		if s.json {
			line = &json
		}
		if *line == nil {
			*line = format(ctx, rec, s.json)
		}
		select {
		case s.lines <- *line:
		default:
			s.dropped.Add(1)
		}
	}
}

// withOps returns r's attributes inside the groups, and after the
// attributes, that ops added.
func withOps(ops []op, r slog.Record) []slog.Attr {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	for i := len(ops) - 1; i >= 0; i-- {
		if o := ops[i]; o.group != "" {
			attrs = []slog.Attr{{Key: o.group, Value: slog.GroupValue(attrs...)}}
		} else {
			attrs = append(slices.Clip(o.attrs), attrs...)
		}
	}
	return attrs
}

func format(ctx context.Context, r slog.Record, json bool) []byte {
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug - 4}
	var h slog.Handler = slog.NewTextHandler(&buf, opts)
	if json {
		h = slog.NewJSONHandler(&buf, opts)
	}
	_ = h.Handle(ctx, r) // a bytes.Buffer does not fail
	return buf.Bytes()
}
