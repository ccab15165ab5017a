package userevent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/watch"
)

// Event is a user event in Consul's JSON shape (Payload is base64 in JSON).
type Event struct {
	ID            string
	Name          string
	Payload       []byte
	NodeFilter    string
	ServiceFilter string
	TagFilter     string
	Version       int
	// LTime is the firing agent's Lamport time when it fired the event.
	LTime uint64
}

// Filters choose the agents that keep an event; empty means any.
type Filters struct {
	// Node is a regexp on the node name.
	Node string
	// Service is a regexp on the name or ID of a service of the agent.
	Service string
	// Tag is a regexp on a tag of a service Service matched; it needs
	// Service.
	Tag string
}

// Limits.
const (
	// DefaultSize is how many events an agent keeps, Consul's number.
	DefaultSize = 256
	// Version is the version of the events this agent fires.
	Version = 1
	// MaxSize bounds an event: Consul's gossip refuses user events over
	// Serf's 512 bytes, counting the name, payload and filters together
	// with the ID and its encoding. Herald counts the name, the payload and
	// the filters plus EncodingOverhead for the rest.
	MaxSize = 512
	// EncodingOverhead is what MaxSize reserves for the event's ID, field
	// names and version: the name, payload and filters may take the rest,
	// MaxSize-EncodingOverhead bytes. Consul's own overhead is a little
	// larger (it also counts the name twice), so every event Consul
	// carries fits.
	EncodingOverhead = 128
	// seenSize is how many IDs are remembered to drop repeats, kept or not.
	seenSize = 4 * DefaultSize
)

// Error is an event refused for what it holds.
type Error struct {
	Msg string
	// TooLarge says the event is over MaxSize; otherwise a filter or the
	// name is wrong.
	TooLarge bool
}

func (e *Error) Error() string { return e.Msg }

// Config configures a Buffer.
type Config struct {
	Datacenter string
	NodeName   string
	// Conn is the NATS connection events are published and received on;
	// nil keeps fired events on this agent only.
	Conn *nats.Conn
	// Services lists the agent's own services, by ID, for the service and
	// tag filters; nil means the agent has none.
	Services func() map[string]event.Service
	// Size is how many events are kept; zero means DefaultSize.
	Size   int
	Logger *slog.Logger
}

// Buffer fires user events and keeps the last ones this agent received.
type Buffer struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	ring    []Event // events[next:] then events[:next] is oldest first
	next    int
	full    bool
	clock   uint64
	seen    map[string]struct{}
	seenIDs []string // FIFO of seen, at most seenSize
	changed chan struct{}
	sub     *nats.Subscription
}

// New returns a Buffer; Start subscribes it to the datacenter's events.
func New(cfg Config) *Buffer {
	if cfg.Size <= 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Buffer{cfg: cfg, log: cfg.Logger, ring: make([]Event, cfg.Size),
		seen: map[string]struct{}{}, changed: make(chan struct{})}
}

// Subject is the NATS subject of the user events named name in dc.
func Subject(dc, name string) string {
	return subjectPrefix(dc) + watch.KeyTokens(name)
}

// SubjectAll is the subject that matches every user event of dc.
func SubjectAll(dc string) string { return subjectPrefix(dc) + ">" }

// subjectPrefix is "herald.<dc>.event.", escaped as the stream's subjects.
func subjectPrefix(dc string) string {
	return strings.TrimSuffix(watch.StreamSubjects(dc, "event"), ">")
}

// Start subscribes to the datacenter's user events; without a NATS
// connection it does nothing.
func (b *Buffer) Start() error {
	if b.cfg.Conn == nil {
		return nil
	}
	sub, err := b.cfg.Conn.Subscribe(SubjectAll(b.cfg.Datacenter), b.receive)
	if err != nil {
		return fmt.Errorf("user events: subscribe: %w", err)
	}
	// The round trip makes sure the server has the subscription, so that
	// an event fired anywhere after Start returns reaches this agent.
	if err := b.cfg.Conn.Flush(); err != nil {
		sub.Unsubscribe()
		return fmt.Errorf("user events: subscribe: %w", err)
	}
	b.mu.Lock()
	b.sub = sub
	b.mu.Unlock()
	return nil
}

// Connect gives the buffer a NATS connection made after New (a client
// agent reaches the servers' NATS only once gossip has found them) and
// subscribes with it.
func (b *Buffer) Connect(conn *nats.Conn) error {
	b.mu.Lock()
	b.cfg.Conn = conn
	b.mu.Unlock()
	return b.Start()
}

// Stop unsubscribes. Events already kept can still be listed.
func (b *Buffer) Stop() {
	b.mu.Lock()
	sub := b.sub
	b.sub = nil
	b.mu.Unlock()
	if sub != nil {
		sub.Unsubscribe()
	}
}

// Validate checks an event before it is fired, the way Consul does.
func Validate(name string, payload []byte, f Filters) error {
	if name == "" {
		return &Error{Msg: "Missing name"}
	}
	if f.Tag != "" && f.Service == "" {
		return &Error{Msg: "Cannot provide tag filter without service filter"}
	}
	for _, c := range []struct{ what, re string }{{"node", f.Node}, {"service", f.Service}, {"tag", f.Tag}} {
		if _, err := regexp.Compile(c.re); err != nil {
			return &Error{Msg: fmt.Sprintf("Invalid %s filter: %v", c.what, err)}
		}
	}
	if n := len(name) + len(payload) + len(f.Node) + len(f.Service) + len(f.Tag); n > MaxSize-EncodingOverhead {
		return &Error{TooLarge: true, Msg: fmt.Sprintf(
			"user event too large: name, payload and filters take %d bytes, at most %d fit in an event of %d bytes",
			n, MaxSize-EncodingOverhead, MaxSize)}
	}
	return nil
}

// Fire sends a new event to every agent of the datacenter, this one
// included (if its filters match it), and returns it.
func (b *Buffer) Fire(name string, payload []byte, f Filters) (Event, error) {
	if err := Validate(name, payload, f); err != nil {
		return Event{}, err
	}
	e := Event{ID: event.NewUUID(), Name: name, Payload: payload,
		NodeFilter: f.Node, ServiceFilter: f.Service, TagFilter: f.Tag, Version: Version}

	b.mu.Lock()
	defer b.mu.Unlock()
	b.clock++
	e.LTime = b.clock
	if b.cfg.Conn != nil {
		data, err := json.Marshal(e)
		if err != nil {
			b.clock--
			return Event{}, err
		}
		// Published under the lock, so that this agent keeps its own
		// events in the order every other agent receives them, and its
		// own copy, coming back, finds the ID already seen.
		if err := b.cfg.Conn.Publish(Subject(b.cfg.Datacenter, name), data); err != nil {
			b.clock--
			return Event{}, fmt.Errorf("user event not sent: %w", err)
		}
	}
	b.markSeenLocked(e.ID)
	if b.matches(&e) {
		b.recordLocked(e)
	}
	return e, nil
}

// receive handles one message of the datacenter's user-event subject.
func (b *Buffer) receive(m *nats.Msg) {
	var e Event
	if err := json.Unmarshal(m.Data, &e); err != nil || !validUUID(e.ID) || e.Name == "" {
		b.log.Warn("ignoring a malformed user event", "subject", m.Subject, "error", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.seen[e.ID]; dup {
		return
	}
	b.markSeenLocked(e.ID)
	b.clock = max(b.clock, e.LTime) + 1
	if e.Version > Version {
		b.log.Warn("user event of a newer version: it may use features this agent ignores",
			"id", e.ID, "version", e.Version)
	}
	if b.matches(&e) {
		b.recordLocked(e)
	}
}

// matches applies an event's filters to this agent, as Consul does: an
// event whose filter does not compile is kept by nobody.
func (b *Buffer) matches(e *Event) bool {
	if e.NodeFilter != "" {
		re, err := regexp.Compile(e.NodeFilter)
		if err != nil || !re.MatchString(b.cfg.NodeName) {
			return false
		}
	}
	if e.ServiceFilter == "" {
		return true
	}
	svcRE, err := regexp.Compile(e.ServiceFilter)
	if err != nil {
		return false
	}
	var tagRE *regexp.Regexp
	if e.TagFilter != "" {
		if tagRE, err = regexp.Compile(e.TagFilter); err != nil {
			return false
		}
	}
	if b.cfg.Services == nil {
		return false
	}
	for id, s := range b.cfg.Services() {
		if !svcRE.MatchString(s.Service) && !svcRE.MatchString(id) {
			continue
		}
		if tagRE == nil {
			return true
		}
		for _, tag := range s.Tags {
			if tagRE.MatchString(tag) {
				return true
			}
		}
	}
	return false
}

func (b *Buffer) markSeenLocked(id string) {
	if len(b.seenIDs) == seenSize {
		delete(b.seen, b.seenIDs[0])
		b.seenIDs = b.seenIDs[1:]
	}
	b.seen[id] = struct{}{}
	b.seenIDs = append(b.seenIDs, id)
}

func (b *Buffer) recordLocked(e Event) {
	b.ring[b.next] = e
	b.next = (b.next + 1) % len(b.ring)
	b.full = b.full || b.next == 0
	close(b.changed)
	b.changed = make(chan struct{})
}

// Events returns the events kept, oldest first, and a channel closed when
// the next one is kept. The events share their payloads with the buffer:
// do not modify them.
func (b *Buffer) Events() ([]Event, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Event
	if b.full {
		out = make([]Event, 0, len(b.ring))
		out = append(out, b.ring[b.next:]...)
	} else {
		out = make([]Event, 0, b.next)
	}
	out = append(out, b.ring[:b.next]...)
	return out, b.changed
}

// LTime is the agent's Lamport clock.
func (b *Buffer) LTime() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clock
}

// IDToIndex is the index Consul derives from an event ID: the XOR of the
// UUID's two 64-bit halves (the same as the Go client's Event().IDToIndex).
// It is 0 for a string that is not a UUID.
func IDToIndex(id string) uint64 {
	if !validUUID(id) {
		return 0
	}
	lo, err1 := strconv.ParseUint(id[0:8]+id[9:13]+id[14:18], 16, 64)
	hi, err2 := strconv.ParseUint(id[19:23]+id[24:36], 16, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return lo ^ hi
}

// ListIndex is the X-Consul-Index of a list of events: IDToIndex of the
// last one, or 1 for none (never 0, which would not block).
func ListIndex(events []Event) uint64 {
	if len(events) == 0 {
		return 1
	}
	if i := IDToIndex(events[len(events)-1].ID); i != 0 {
		return i
	}
	return 1
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
