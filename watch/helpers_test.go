package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// memLog is an in-memory EventLog, standing in for the state machine's.
type memLog struct {
	mu     sync.Mutex
	events []event.Event // ordered by Index
	// drop makes Published drop events as the real log may; without it
	// the log keeps them, as after a crash before Published was recorded.
	drop      bool
	published []uint64 // every Published call, in order
	notify    chan struct{}
	readErr   error
}

func newMemLog() *memLog { return &memLog{notify: make(chan struct{})} }

// Append adds events; indexes must not go backwards.
func (l *memLog) Append(evs ...event.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range evs {
		if n := len(l.events); n > 0 && l.events[n-1].Index > e.Index {
			panic(fmt.Sprintf("memLog: index %d after %d", e.Index, l.events[n-1].Index))
		}
		l.events = append(l.events, e)
	}
	close(l.notify)
	l.notify = make(chan struct{})
}

func (l *memLog) Read(after uint64, max int) ([]event.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readErr != nil {
		return nil, l.readErr
	}
	i := sort.Search(len(l.events), func(i int) bool { return l.events[i].Index > after })
	j := i
	for j < len(l.events) && (j-i < max || l.events[j].Index == l.events[j-1].Index) {
		j++
	}
	return append([]event.Event(nil), l.events[i:j]...), nil
}

// Wait keeps the state machine's contract and no more: the channel closes
// on the next Append, whatever earlier Reads saw.
func (l *memLog) Wait() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify
}

func (l *memLog) Published(index uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A new publisher may repeat what an earlier one said; going back
	// would be a bug.
	if n := len(l.published); n > 0 && l.published[n-1] > index {
		panic(fmt.Sprintf("memLog: Published(%d) after Published(%d)", index, l.published[n-1]))
	}
	l.published = append(l.published, index)
	if l.drop {
		i := sort.Search(len(l.events), func(i int) bool { return l.events[i].Index > index })
		// Reslice rather than copy: a copy per call is quadratic.
		l.events = l.events[i:]
	}
}

func (l *memLog) lastPublished() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.published) == 0 {
		return 0
	}
	return l.published[len(l.published)-1]
}

// kvEvents makes a KV event per key at one index.
func kvEvents(index uint64, keys ...string) []event.Event {
	out := make([]event.Event, len(keys))
	for i, k := range keys {
		out[i] = event.Event{Type: event.KVUpdated, Shard: event.ShardKV, Index: index, Key: k,
			KV: &event.KVEntry{Key: k, CreateIndex: index, ModifyIndex: index, Value: []byte("v-" + k)}}
	}
	return out
}

// genEvents makes events for groups indexes starting at first, leaving holes
// in the numbering (as Raft entries without events do) and giving every
// fifth index three events.
func genEvents(first uint64, groups int) []event.Event {
	var out []event.Event
	idx := first
	for g := 0; g < groups; g++ {
		n := 1
		if g%5 == 4 {
			n = 3
		}
		for k := 0; k < n; k++ {
			out = append(out, kvEvents(idx, fmt.Sprintf("app/%d/k%d", idx, k))...)
		}
		idx += 1 + uint64(g%3) // holes of 0, 1 and 2 indexes
	}
	return out
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startTestServer(t testing.TB) *EmbeddedServer {
	t.Helper()
	s, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// runPublisher runs p until the returned stop is called (or the test ends).
func runPublisher(t testing.TB, p *Publisher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Publisher.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newTestPublisher(t testing.TB, nc *nats.Conn, log EventLog) *Publisher {
	t.Helper()
	p, err := NewPublisher(PublisherConfig{Datacenter: "dc1", Shard: event.ShardKV, Log: log, Conn: nc, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	return p
}

// storedMsg is one message read back from the stream.
type storedMsg struct {
	seq     uint64
	subject string
	header  nats.Header
	ev      event.Event
}

// readStream returns every message in the shard's stream, by sequence.
func readStream(t testing.TB, nc *nats.Conn, dc, shard string) []storedMsg {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, StreamName(dc, shard))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	st := s.CachedInfo().State
	var out []storedMsg
	for seq := st.FirstSeq; seq <= st.LastSeq && st.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		var ev event.Event
		if m.Header.Get(HeaderIndex) != "" {
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatalf("message %d payload: %v", seq, err)
			}
		}
		out = append(out, storedMsg{seq: m.Sequence, subject: m.Subject, header: m.Header, ev: ev})
	}
	return out
}

func statDir(dir string) (os.FileInfo, error) { return os.Stat(dir) }
