package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/watch"
)

// startNATS starts a NATS server and returns two connections to it: one
// for a server's side, one for a requester's.
func startNATS(t *testing.T) (server, requester *nats.Conn) {
	t.Helper()
	ns, err := watch.StartServer(watch.ServerConfig{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	for _, c := range []**nats.Conn{&server, &requester} {
		if *c, err = nats.Connect(ns.ClientURL()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup((*c).Close)
	}
	return server, requester
}

type fakeShards struct {
	index uint64
	data  []byte
}

func (s fakeShards) AppliedIndex(command.Shard) uint64 { return s.index }
func (s fakeShards) Export(_ command.Shard, w io.Writer) (uint64, error) {
	_, err := w.Write(s.data)
	return s.index, err
}
func (fakeShards) LeaderAddress() string { return "" }

type noRaft struct{}

func (noRaft) ProposeTo(context.Context, command.Shard, command.Command) (command.Result, error) {
	return command.Result{}, hlog.ErrNoLeader
}
func (noRaft) ReadIndex(context.Context, command.Shard) error { return hlog.ErrNoLeader }
func (noRaft) Leader(command.Shard) (uint64, bool)            { return 0, false }

func snapshotData(chunks int) []byte {
	data := make([]byte, chunks*snapshotChunk+100)
	for i := range data {
		data[i] = byte(i / snapshotChunk)
	}
	return data
}

func exportOf(index uint64, data []byte) func(io.Writer) (uint64, error) {
	return func(w io.Writer) (uint64, error) {
		_, err := w.Write(data)
		return index, err
	}
}

// A server sends no more chunks ahead than the requester's window, however
// slowly the requester reads, and the rest once it acknowledges.
func TestSnapshotWindow(t *testing.T) {
	sc, rc := startNATS(t)
	shards := fakeShards{index: 42, data: snapshotData(6)}
	stop, err := Serve(sc, "dc1", noRaft{}, shards, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	inbox := rc.NewRespInbox()
	sub, err := rc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1)
	req := &nats.Msg{Subject: subject("dc1", "kv", "snapshot"), Reply: inbox, Header: nats.Header{}}
	req.Header.Set(hdrWindow, "2")
	if err := rc.PublishMsg(req); err != nil {
		t.Fatal(err)
	}
	next := func() *nats.Msg {
		t.Helper()
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no chunk: %v", err)
		}
		return m
	}
	ahead := func(n int) {
		t.Helper()
		// A chunk beyond the window would follow the window's own
		// at once; none comes.
		if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
			t.Fatalf("chunk at %s sent beyond a window of %d", m.Header.Get(hdrOffset), n)
		}
	}
	var got []byte
	take := func(n int) string {
		t.Helper()
		var ack string
		for range n {
			m := next()
			if off := m.Header.Get(hdrOffset); off != strconv.Itoa(len(got)) {
				t.Fatalf("chunk at %s, want %d", off, len(got))
			}
			got = append(got, m.Data...)
			ack = m.Header.Get(hdrAck)
		}
		if ack == "" {
			t.Fatal("a chunk sent within a window names no acknowledgement subject")
		}
		return ack
	}
	acknowledge := func(ack string) {
		t.Helper()
		h := nats.Header{}
		h.Set(hdrOffset, strconv.Itoa(len(got)))
		if err := rc.PublishMsg(&nats.Msg{Subject: ack, Header: h}); err != nil {
			t.Fatal(err)
		}
	}
	ack := take(2)
	ahead(2)
	acknowledge(ack)
	ack = take(2)
	ahead(2)
	acknowledge(ack)
	take(2)
	acknowledge(ack)
	last := next()
	got = append(got, last.Data...)
	if last.Header.Get(hdrLast) == "" || last.Header.Get(hdrIndex) != "42" || !bytes.Equal(got, shards.data) {
		t.Fatalf("last chunk %v: %d bytes in all, want %d", last.Header, len(got), len(shards.data))
	}

	// Through the client, which acknowledges as it takes.
	index, data, err := NewClient(rc, "dc1").Snapshot(t.Context(), command.ShardKV)
	if err != nil || index != 42 || !bytes.Equal(data, shards.data) {
		t.Fatalf("Snapshot: index %d, %d bytes, %v", index, len(data), err)
	}
}

// The protocol before acknowledgements still works both ways: a request
// without a window gets every chunk at once, and a client takes chunks
// that ask for no acknowledgement.
func TestSnapshotWithoutAcknowledgements(t *testing.T) {
	sc, rc := startNATS(t)
	data := snapshotData(3)
	sub, err := sc.Subscribe(subject("dc1", "kv", "snapshot"), func(m *nats.Msg) {
		if err := sendSnapshot(sc, &nats.Msg{Reply: m.Reply}, exportOf(7, data), time.Second); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	index, got, err := NewClient(rc, "dc1").Snapshot(t.Context(), command.ShardKV)
	if err != nil || index != 7 || !bytes.Equal(got, data) {
		t.Fatalf("Snapshot: index %d, %d bytes, %v", index, len(got), err)
	}
}

// A server that stops mid-transfer gives the requester an error soon, not
// a hang, so it can ask again (another server).
func TestSnapshotServerStops(t *testing.T) {
	sc, rc := startNATS(t)
	defer func(first, idle time.Duration) { snapshotFirstWait, snapshotIdle = first, idle }(snapshotFirstWait, snapshotIdle)
	snapshotFirstWait, snapshotIdle = 5*time.Second, 300*time.Millisecond
	sub, err := sc.Subscribe(subject("dc1", "kv", "snapshot"), func(m *nats.Msg) {
		h := nats.Header{}
		h.Set(hdrIndex, "1")
		h.Set(hdrOffset, "0")
		h.Set(hdrAck, sc.NewInbox())
		sc.PublishMsg(&nats.Msg{Subject: m.Reply, Header: h, Data: make([]byte, snapshotChunk)})
		// and nothing more
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = NewClient(rc, "dc1").Snapshot(t.Context(), command.ShardKV)
	if err == nil || !strings.Contains(err.Error(), "sent nothing") || time.Since(start) > 4*time.Second {
		t.Fatalf("Snapshot from a server that stopped: %v after %v", err, time.Since(start))
	}
}

// A server gives up on a requester that stops acknowledging, rather than
// holding the snapshot for ever.
func TestSnapshotRequesterStops(t *testing.T) {
	sc, rc := startNATS(t)
	inbox := rc.NewRespInbox()
	sub, err := rc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Flush(); err != nil {
		t.Fatal(err)
	}
	req := &nats.Msg{Reply: inbox, Header: nats.Header{}}
	req.Header.Set(hdrWindow, "1")
	errc := make(chan error, 1)
	go func() { errc <- sendSnapshot(sc, req, exportOf(1, snapshotData(3)), 300*time.Millisecond) }()
	if _, err := sub.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no first chunk: %v", err)
	}
	poll.True(t, 10*time.Second, "the server gives up on a requester that stopped acknowledging", func() bool {
		select {
		case err = <-errc:
			return true
		default:
			return false
		}
	})
	if !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("server gave up with %v", err)
	}
}

// An export that fails after some chunks went out fails the transfer with
// its error.
func TestSnapshotExportFails(t *testing.T) {
	sc, rc := startNATS(t)
	sub, err := sc.Subscribe(subject("dc1", "kv", "snapshot"), func(m *nats.Msg) {
		sendSnapshot(sc, m, func(w io.Writer) (uint64, error) {
			if _, err := w.Write(snapshotData(1)); err != nil {
				return 0, err
			}
			return 0, errors.New("the disk is on fire")
		}, time.Second)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	_, _, err = NewClient(rc, "dc1").Snapshot(t.Context(), command.ShardKV)
	if err == nil || !strings.Contains(err.Error(), "on fire") {
		t.Fatalf("Snapshot of a failed export: %v", err)
	}
}
