package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const waitLong = 20 * time.Second

// coreCollector gathers what a plain core NATS subscriber receives.
type coreCollector struct {
	ch chan *nats.Msg
}

func subscribeCore(t *testing.T, nc *nats.Conn, subject string) *coreCollector {
	t.Helper()
	c := &coreCollector{ch: make(chan *nats.Msg, 100000)}
	sub, err := nc.ChanSubscribe(subject, c.ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return c
}

// take waits for exactly n messages, then checks no more arrive
// before the subscriber's connection has round-tripped to the server.
func (c *coreCollector) take(t *testing.T, n int) []*nats.Msg {
	t.Helper()
	out := make([]*nats.Msg, 0, n)
	deadline := time.After(waitLong)
	for len(out) < n {
		select {
		case m := <-c.ch:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("core subscriber got %d of %d messages", len(out), n)
		}
	}
	return out
}

func (c *coreCollector) none(t *testing.T, nc *nats.Conn) {
	t.Helper()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-c.ch:
		t.Fatalf("unexpected extra core message %s %v", m.Subject, m.Header)
	default:
	}
}

// checkMsg asserts a message carries event want as its position pos of count.
func checkMsg(t *testing.T, what string, subject string, h nats.Header, data []byte, want event.Event, pos, count int) {
	t.Helper()
	if s := Subject("dc1", want); subject != s {
		t.Errorf("%s: subject %q, want %q", what, subject, s)
	}
	if got, w := h.Get(jetstream.MsgIDHeader), msgID(want.Shard, want.Index, pos); got != w {
		t.Errorf("%s: Nats-Msg-Id %q, want %q", what, got, w)
	}
	if got := h.Get(HeaderIndex); got != strconv.FormatUint(want.Index, 10) {
		t.Errorf("%s: %s %q, want %d", what, HeaderIndex, got, want.Index)
	}
	if got := h.Get(HeaderType); got != string(want.Type) {
		t.Errorf("%s: %s %q, want %q", what, HeaderType, got, want.Type)
	}
	if got := h.Get(HeaderShard); got != want.Shard {
		t.Errorf("%s: %s %q, want %q", what, HeaderShard, got, want.Shard)
	}
	if got := h.Get(HeaderCount); got != strconv.Itoa(count) {
		t.Errorf("%s: %s %q, want %d", what, HeaderCount, got, count)
	}
	var ev event.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("%s: payload: %v", what, err)
	}
	if ev.Index != want.Index || ev.Key != want.Key || ev.Type != want.Type || ev.KV == nil || string(ev.KV.Value) != string(want.KV.Value) {
		t.Errorf("%s: payload %+v, want %+v", what, ev, want)
	}
}

// positions gives each event its position within its index and the index's
// event count.
func positions(evs []event.Event) (pos, count []int) {
	pos, count = make([]int, len(evs)), make([]int, len(evs))
	for i := range evs {
		if i > 0 && evs[i].Index == evs[i-1].Index {
			pos[i] = pos[i-1] + 1
		}
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if i+1 < len(evs) && evs[i].Index == evs[i+1].Index {
			count[i] = count[i+1]
		} else {
			count[i] = pos[i] + 1
		}
	}
	return pos, count
}

// checkStream asserts the stream holds exactly evs, in order, once each.
func checkStream(t *testing.T, nc *nats.Conn, evs []event.Event) {
	t.Helper()
	stored := readStream(t, nc, "dc1", event.ShardKV)
	if len(stored) != len(evs) {
		t.Fatalf("stream holds %d messages, want %d", len(stored), len(evs))
	}
	pos, count := positions(evs)
	ids := map[string]bool{}
	for i, m := range stored {
		checkMsg(t, fmt.Sprintf("stream message %d", m.seq), m.subject, m.header, mustJSON(t, m.ev), evs[i], pos[i], count[i])
		id := m.header.Get(jetstream.MsgIDHeader)
		if ids[id] {
			t.Errorf("Msg-Id %s stored twice", id)
		}
		ids[id] = true
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublishOnceInOrder(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	core := subscribeCore(t, connect(t, s.ClientURL()), "herald.dc1.kv.>")

	log := newMemLog()
	log.drop = true
	first := genEvents(1, 300)
	log.Append(first...)
	p := newTestPublisher(t, nc, log)
	runPublisher(t, p)

	last := first[len(first)-1].Index
	poll.True(t, waitLong, "first batch published", func() bool { return p.PublishedIndex() == last })

	// Events that arrive while the publisher waits on the log.
	more := genEvents(last+1, 50)
	for i := 0; i < len(more); {
		j := i + 1
		for j < len(more) && more[j].Index == more[i].Index {
			j++
		}
		log.Append(more[i:j]...)
		i = j
	}
	all := append(first, more...)
	lastAll := all[len(all)-1].Index
	poll.True(t, waitLong, "second batch published", func() bool { return p.PublishedIndex() == lastAll })
	if got := log.lastPublished(); got != lastAll {
		t.Errorf("log told Published(%d), want %d", got, lastAll)
	}

	msgs := core.take(t, len(all))
	pos, count := positions(all)
	for i, m := range msgs {
		checkMsg(t, fmt.Sprintf("core message %d", i), m.Subject, m.Header, m.Data, all[i], pos[i], count[i])
	}
	core.none(t, nc)
	checkStream(t, nc, all)
}

func TestPublishIndexWithManyEvents(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	core := subscribeCore(t, nc, "herald.dc1.kv.>")
	log := newMemLog()
	evs := kvEvents(7, "tx/e", "tx/d", "tx/c", "tx/b", "tx/a") // a transaction, deliberately not sorted
	evs = append(evs, kvEvents(9, "after")...)
	evs[2].Type, evs[2].KV = event.KVDeleted, &event.KVEntry{Key: "tx/c", ModifyIndex: 7, Value: []byte("v-tx/c")}
	log.Append(evs...)
	p := newTestPublisher(t, nc, log)
	runPublisher(t, p)
	poll.True(t, waitLong, "published", func() bool { return p.PublishedIndex() == 9 })

	msgs := core.take(t, len(evs))
	wantIDs := []string{"kv:7:0", "kv:7:1", "kv:7:2", "kv:7:3", "kv:7:4", "kv:9:0"}
	for i, m := range msgs {
		if got := m.Header.Get(jetstream.MsgIDHeader); got != wantIDs[i] {
			t.Errorf("message %d: Msg-Id %s, want %s", i, got, wantIDs[i])
		}
	}
	if got := msgs[2].Header.Get(HeaderType); got != string(event.KVDeleted) {
		t.Errorf("deleted event's type header %q", got)
	}
	if got := msgs[5].Header.Get(HeaderPrevIndex); got != "7" {
		t.Errorf("index 9's %s = %q, want 7", HeaderPrevIndex, got)
	}
	checkStream(t, nc, evs)
	// The log was told once the whole index was acked, not per event.
	log.mu.Lock()
	defer log.mu.Unlock()
	if fmt.Sprint(log.published) != "[7 9]" {
		t.Errorf("Published calls %v, want [7 9]", log.published)
	}
}

func TestPublisherRestartPublishesNothingTwice(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	core := subscribeCore(t, connect(t, s.ClientURL()), "herald.dc1.kv.>")

	// The log keeps everything, as if the state machine crashed before it
	// recorded any Published call.
	log := newMemLog()
	first := genEvents(1, 100)
	log.Append(first...)
	p1 := newTestPublisher(t, nc, log)
	stop1 := runPublisher(t, p1)
	last := first[len(first)-1].Index
	poll.True(t, waitLong, "first run published", func() bool { return p1.PublishedIndex() == last })
	stop1()
	core.take(t, len(first))

	// Let the dedup window not be what saves us: a fresh publisher must skip
	// on its own, so the core subscriber (which sees every publish, even
	// refused or deduplicated ones) sees nothing again.
	p2 := newTestPublisher(t, nc, log)
	if got := p2.PublishedIndex(); got != 0 {
		t.Fatalf("fresh publisher PublishedIndex %d before Run", got)
	}
	runPublisher(t, p2)
	poll.True(t, waitLong, "restart resynced", func() bool { return p2.PublishedIndex() == last })
	more := genEvents(last+1, 20)
	log.Append(more...)
	lastAll := more[len(more)-1].Index
	poll.True(t, waitLong, "second run published", func() bool { return p2.PublishedIndex() == lastAll })

	msgs := core.take(t, len(more))
	pos, count := positions(more)
	for i, m := range msgs {
		checkMsg(t, fmt.Sprintf("core message %d after restart", i), m.Subject, m.Header, m.Data, more[i], pos[i], count[i])
	}
	core.none(t, nc)
	checkStream(t, nc, append(first, more...))
}

// A publisher that stopped in the middle of an index resumes with the rest of
// that index.
func TestPublisherResumesPartialIndex(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	log := newMemLog()
	evs := append(kvEvents(3, "a"), kvEvents(5, "t/1", "t/2", "t/3")...)
	log.Append(evs...)
	p := newTestPublisher(t, nc, log)

	// Store index 3 and the first event of index 5 by hand, exactly as the
	// publisher would have before it died.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cur := &cursor{}
	for i, m := range []outMsg{
		{ev: evs[0], pos: 0, count: 1},
		{ev: evs[1], pos: 0, count: 3, prev: 3, hasPrev: true},
	} {
		msg := &nats.Msg{Subject: Subject("dc1", m.ev), Data: mustJSON(t, m.ev), Header: p.headers(m.ev, m, cur.lastSeq, cur.lastID)}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("hand publish %d: %v", i, err)
		}
		cur.lastSeq++
		cur.lastID = msg.Header.Get(jetstream.MsgIDHeader)
	}

	runPublisher(t, p)
	poll.True(t, waitLong, "index 5 completed", func() bool { return p.PublishedIndex() == 5 })
	checkStream(t, nc, evs)
	stored := readStream(t, nc, "dc1", event.ShardKV)
	if got := stored[2].header.Get(HeaderPrevIndex); got != "3" {
		t.Errorf("resumed event's %s = %q, want 3 like the rest of its index", HeaderPrevIndex, got)
	}
}

// A message someone else stores on a Herald subject breaks the publisher's
// expected sequence; it must resync and go on without duplicating or
// reordering anything.
func TestPublisherSurvivesForeignMessage(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	log := newMemLog()
	log.drop = true
	first := genEvents(1, 50)
	log.Append(first...)
	p := newTestPublisher(t, nc, log)
	runPublisher(t, p)
	last := first[len(first)-1].Index
	poll.True(t, waitLong, "first batch", func() bool { return p.PublishedIndex() == last })

	js, _ := jetstream.New(nc)
	if _, err := js.Publish(context.Background(), "herald.dc1.kv.intruder", []byte("not an event")); err != nil {
		t.Fatal(err)
	}
	more := genEvents(last+1, 50)
	log.Append(more...)
	lastAll := more[len(more)-1].Index
	poll.True(t, waitLong, "after the foreign message", func() bool { return p.PublishedIndex() == lastAll })

	all := append(first, more...)
	stored := readStream(t, nc, "dc1", event.ShardKV)
	var herald []storedMsg
	for _, m := range stored {
		if m.header.Get(HeaderIndex) != "" {
			herald = append(herald, m)
		}
	}
	if len(herald) != len(all) || len(stored) != len(all)+1 {
		t.Fatalf("stream holds %d Herald messages (of %d), want %d", len(herald), len(stored), len(all))
	}
	for i, m := range herald {
		if m.ev.Index != all[i].Index || m.ev.Key != all[i].Key {
			t.Fatalf("stream message %d is %d/%s, want %d/%s", m.seq, m.ev.Index, m.ev.Key, all[i].Index, all[i].Key)
		}
	}
}

// Stopping the server and starting it again on the same store: the
// publisher reconnects, resyncs and publishes what the log gathered while
// NATS was away, each event once.
func TestPublisherAcrossServerRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	url := s.ClientURL()
	nc := connect(t, url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	log := newMemLog()
	first := genEvents(1, 100)
	log.Append(first...)
	p := newTestPublisher(t, nc, log)
	runPublisher(t, p)
	last := first[len(first)-1].Index
	poll.True(t, waitLong, "first batch", func() bool { return p.PublishedIndex() == last })

	s.Shutdown()
	poll.True(t, waitLong, "client noticed", func() bool { return !nc.IsConnected() })
	more := genEvents(last+1, 100)
	log.Append(more...)

	port := url[len("nats://127.0.0.1:"):]
	portN, _ := strconv.Atoi(port)
	s2, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: portN, StoreDir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("restart server: %v", err)
	}
	t.Cleanup(s2.Shutdown)
	lastAll := more[len(more)-1].Index
	poll.True(t, waitLong, "published after the restart", func() bool { return p.PublishedIndex() == lastAll })
	checkStream(t, nc, append(first, more...))
}

func TestNewPublisherValidates(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	for _, cfg := range []PublisherConfig{
		{Shard: "kv", Log: newMemLog(), Conn: nc},
		{Datacenter: "dc1", Log: newMemLog(), Conn: nc},
		{Datacenter: "dc1", Shard: "kv", Conn: nc},
		{Datacenter: "dc1", Shard: "kv", Log: newMemLog()},
		{Datacenter: "dc1", Shard: "kv", Log: newMemLog(), Conn: nc, Replicas: 3}, // one server
	} {
		if _, err := NewPublisher(cfg); err == nil {
			t.Errorf("NewPublisher(%+v) accepted", cfg)
		}
	}
	p, err := NewPublisher(PublisherConfig{Datacenter: "dc1", Shard: "kv", Log: newMemLog(), Conn: nc,
		StreamMaxAge: DedupWindow / 2, StreamMaxMsgs: 10})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), p.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	c := st.CachedInfo().Config
	if c.Name != "HERALD_dc1_kv" || c.Subjects[0] != "herald.dc1.kv.>" || c.Storage != jetstream.FileStorage ||
		c.MaxAge != DedupWindow/2 || c.MaxMsgs != 10 || c.Duplicates != DedupWindow/2 {
		t.Errorf("stream config %+v", c)
	}
	// Defaults.
	p, err = NewPublisher(PublisherConfig{Datacenter: "dc2", Shard: "kv", Log: newMemLog(), Conn: nc})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = js.Stream(context.Background(), p.StreamName())
	c = st.CachedInfo().Config
	if c.MaxAge != DefaultStreamMaxAge || c.MaxMsgs != DefaultStreamMaxMsgs || c.Duplicates != DedupWindow {
		t.Errorf("default stream config %+v", c)
	}
}

// Two publishers of one shard at once (as around a leader change) still
// store every event once, in order.
func TestTwoPublishersOneStream(t *testing.T) {
	s := startTestServer(t)
	// Each server has its own state machine, so each publisher its own log.
	log1, log2 := newMemLog(), newMemLog()
	evs := genEvents(1, 2000)
	log1.Append(evs...)
	log2.Append(evs...)
	p1 := newTestPublisher(t, connect(t, s.ClientURL()), log1)
	p2 := newTestPublisher(t, connect(t, s.ClientURL()), log2)
	runPublisher(t, p1)
	runPublisher(t, p2)
	last := evs[len(evs)-1].Index
	poll.True(t, waitLong, "both publishers done", func() bool {
		return p1.PublishedIndex() == last && p2.PublishedIndex() == last
	})
	checkStream(t, connect(t, s.ClientURL()), evs)
}

// A failing log read is retried; publishing goes on once it reads again.
func TestPublisherRetriesLogErrors(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	log := newMemLog()
	log.readErr = fmt.Errorf("disk on fire")
	evs := genEvents(1, 10)
	log.Append(evs...)
	p := newTestPublisher(t, nc, log)
	runPublisher(t, p)
	log.mu.Lock()
	log.readErr = nil
	log.mu.Unlock()
	log.Append(kvEvents(evs[len(evs)-1].Index+1, "last")...)
	poll.True(t, waitLong, "published after the log recovered", func() bool {
		return p.PublishedIndex() == evs[len(evs)-1].Index+1
	})
}

func TestPublisherRunEnds(t *testing.T) {
	s := startTestServer(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	p := newTestPublisher(t, nc, newMemLog())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	poll.True(t, waitLong, "Run started", func() bool { return p.running.Load() })
	if err := p.Run(ctx); err == nil {
		t.Error("a second concurrent Run was accepted")
	}
	// The caller closing the connection ends Run with an error.
	nc.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run returned nil after its connection was closed")
		}
	case <-time.After(waitLong):
		t.Fatal("Run did not end after its connection was closed")
	}
}

// appendAfterEmptyRead is a log on which an event is applied right after the
// publisher's first read that finds nothing, before it can wait: the window
// in which a wake-up asked for after the read is lost.
type appendAfterEmptyRead struct {
	*memLog
	once sync.Once
	late []event.Event
}

func (l *appendAfterEmptyRead) Read(after uint64, max int) ([]event.Event, error) {
	evs, err := l.memLog.Read(after, max)
	if err == nil && len(evs) == 0 {
		l.once.Do(func() { l.memLog.Append(l.late...) })
	}
	return evs, err
}

// An event applied between an empty read and the wait is published without
// any later write to wake the publisher: found when a restarted server's
// stream stopped two events short once the writes ended.
func TestPublisherMissesNoEventAppliedWhileIdle(t *testing.T) {
	s := startTestServer(t)
	nc := connect(t, s.ClientURL())
	log := &appendAfterEmptyRead{memLog: newMemLog(), late: kvEvents(7, "late")}
	p := newTestPublisher(t, nc, log)
	runPublisher(t, p)
	poll.True(t, waitLong, "the event applied while the publisher was idle is published",
		func() bool { return p.PublishedIndex() == 7 })
	checkStream(t, nc, log.late)
}
