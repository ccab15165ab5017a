package statemachine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// recordingSink keeps what the state machine fed it.
type recordingSink struct {
	loads  []uint64
	loaded []*event.KVEntry
	events []event.Event
}

func (r *recordingSink) Load(index uint64, src event.Source) error {
	r.loads = append(r.loads, index)
	r.loaded = nil
	return src.ScanKV("", func(e *event.KVEntry) error {
		r.loaded = append(r.loaded, e)
		return nil
	})
}

func (r *recordingSink) Apply(index uint64, evs []event.Event) { r.events = append(r.events, evs...) }

func open(t *testing.T, cfg Config) *StateMachine {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Shard == "" {
		cfg.Shard = event.ShardKV
	}
	s := New(cfg)
	if _, err := s.Open(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func entry(t *testing.T, index uint64, at time.Time, ops ...command.KVOp) sm.Entry {
	t.Helper()
	var body command.Body = &command.KVBody{Op: ops[0]}
	if len(ops) > 1 {
		body = &command.KVTxnBody{Ops: ops}
	}
	b, err := command.Encode(command.Command{Time: at.UnixNano(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return sm.Entry{Index: index, Cmd: b}
}

func set(key, value string) command.KVOp {
	return command.KVOp{Verb: command.KVSet, Key: key, Value: []byte(value)}
}

func liveKV(t *testing.T, s *StateMachine) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := dbSource{s.db}.ScanKV("", func(e *event.KVEntry) error {
		out[e.Key] = fmt.Sprintf("%s@%d/%d", e.Value, e.CreateIndex, e.ModifyIndex)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUpdateEmitsEventsAfterCommitAndRecordsApplied(t *testing.T) {
	sink := &recordingSink{}
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, Sink: sink})
	now := time.Unix(1000, 0)
	res, err := s.Update([]sm.Entry{
		entry(t, 5, now, set("a", "1")),
		entry(t, 6, now, command.KVOp{Verb: command.KVCAS, Key: "a", Value: []byte("x"), Index: 99}),
		entry(t, 7, now, command.KVOp{Verb: command.KVDelete, Key: "a"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Result.Value != command.ResultSucceeded || res[1].Result.Value != command.ResultFailed {
		t.Fatalf("results: %+v", res)
	}
	if len(sink.events) != 2 || sink.events[0].Type != event.KVUpdated || sink.events[1].Type != event.KVDeleted ||
		sink.events[1].Index != 7 {
		t.Fatalf("events: %+v", sink.events)
	}
	s.Close()

	// Reopening returns the applied index written with the data.
	s2 := New(Config{Dir: dir, Shard: "kv", Sink: sink})
	applied, err := s2.Open(nil)
	defer s2.Close()
	if err != nil || applied != 7 {
		t.Fatalf("reopen: applied %d, %v", applied, err)
	}
}

func TestUndecodableEntryStopsTheReplica(t *testing.T) {
	s := open(t, Config{})
	_, err := s.Update([]sm.Entry{{Index: 1, Cmd: []byte{command.Version, 0, 0x7f, 0}}})
	if err == nil || !strings.Contains(err.Error(), "cannot be decoded") {
		t.Fatalf("unknown command type: %v, want a stop", err)
	}
	// Unless the command says it may be ignored.
	// (A version 2 envelope: ID 1/1, no deadline, no origin.)
	res, err := s.Update([]sm.Entry{{Index: 1, Cmd: []byte{2, command.FlagIgnoreUnknown, 0x7f, 0, 1, 1, 0}}})
	if err != nil || res[0].Result.Value != command.ResultFailed {
		t.Fatalf("ignorable unknown command: %v %+v", err, res)
	}
}

func TestSnapshotRecoversANewReplica(t *testing.T) {
	src := open(t, Config{})
	now := time.Unix(1000, 0)
	var entries []sm.Entry
	for i := uint64(1); i <= 50; i++ {
		entries = append(entries, entry(t, i, now, set(fmt.Sprintf("k/%02d", i), strings.Repeat("v", int(i)))))
	}
	if _, err := src.Update(entries); err != nil {
		t.Fatal(err)
	}
	ctx, err := src.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes after PrepareSnapshot must not leak into the snapshot.
	if _, err := src.Update([]sm.Entry{entry(t, 51, now, set("late", "x"))}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.SaveSnapshot(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}

	sink := &recordingSink{}
	dst := open(t, Config{Sink: sink})
	if _, err := dst.Update([]sm.Entry{entry(t, 1, now, set("stale", "gone after recovery"))}); err != nil {
		t.Fatal(err)
	}
	if err := dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	want := liveKV(t, src)
	delete(want, "late")
	if got := liveKV(t, dst); !reflect.DeepEqual(got, want) {
		t.Fatalf("recovered state differs:\n got %v\nwant %v", got, want)
	}
	if dst.Applied() != 50 || sink.loads[len(sink.loads)-1] != 50 || len(sink.loaded) != 50 {
		t.Fatalf("after recovery: applied %d, loads %v, %d loaded", dst.Applied(), sink.loads, len(sink.loaded))
	}
	// A truncated snapshot is refused, not half applied silently.
	if err := dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), nil); err == nil {
		t.Fatal("a truncated snapshot was accepted")
	}
}

func TestHistoryFoldsIntoBaseAndReplays(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, RetainCommands: 10})
	now := time.Unix(1000, 0)
	expect := map[uint64]map[string]string{}
	for i := uint64(1); i <= 40; i++ {
		op := set(fmt.Sprintf("k%d", i%7), fmt.Sprint(i))
		if i%5 == 0 {
			op = command.KVOp{Verb: command.KVDeleteTree, Key: "k"}
		}
		if _, err := s.Update([]sm.Entry{entry(t, i, now, op)}); err != nil {
			t.Fatal(err)
		}
		expect[i] = liveKV(t, s)
	}
	s.Close()

	off, err := OpenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if off.HistoryFirst() != 31 {
		t.Fatalf("history starts at %d, want 31 (10 retained of 40)", off.HistoryFirst())
	}
	for idx := uint64(30); idx <= 40; idx++ {
		entries, err := off.ReplayKV(idx)
		if err != nil {
			t.Fatalf("replay %d: %v", idx, err)
		}
		got := map[string]string{}
		for _, e := range entries {
			got[e.Key] = fmt.Sprintf("%s@%d/%d", e.Value, e.CreateIndex, e.ModifyIndex)
		}
		if !reflect.DeepEqual(got, expect[idx]) {
			t.Fatalf("replay %d:\n got %v\nwant %v", idx, got, expect[idx])
		}
	}
	if _, err := off.ReplayKV(29); err == nil {
		t.Fatal("replay before the retained history succeeded")
	}
}

func TestHistoryRetainsByAge(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, RetainAge: time.Minute})
	start := time.Unix(1000, 0)
	for i := uint64(1); i <= 10; i++ {
		// One command every 20 s: after 10, only the last minute remains.
		if _, err := s.Update([]sm.Entry{entry(t, i, start.Add(time.Duration(i)*20*time.Second), set("k", fmt.Sprint(i)))}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	off, err := OpenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if off.HistoryFirst() != 7 {
		t.Fatalf("history starts at %d, want 7 (commands within 60 s of the newest)", off.HistoryFirst())
	}
}

func TestOutboxReadAndTrim(t *testing.T) {
	s := open(t, Config{})
	now := time.Unix(1000, 0)
	wake := s.Wait()
	if _, err := s.Update([]sm.Entry{
		entry(t, 1, now, set("a", "1"), set("b", "2")),
		entry(t, 2, now, set("c", "3")),
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	default:
		t.Fatal("outbox waiters not woken")
	}
	evs, err := s.Read(0, 1)
	if err != nil || len(evs) != 2 || evs[0].Key != "a" || evs[1].Key != "b" {
		t.Fatalf("read stops inside an index: %+v %v", evs, err)
	}
	evs, _ = s.Read(1, 10)
	if len(evs) != 1 || evs[0].Index != 2 {
		t.Fatalf("read after 1: %+v", evs)
	}
	s.Close()
	if _, err := s.Read(0, 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// The in-memory tail and the Pebble copy of the outbox must answer alike.
func TestOutboxTailMatchesPebble(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	now := time.Unix(1000, 0)
	for i := uint64(1); i <= 30; i++ {
		op := set(fmt.Sprintf("k%d", i%4), "v")
		if i%3 == 0 {
			op = command.KVOp{Verb: command.KVCAS, Key: "k1", Index: 999} // fails: no event
		}
		if _, err := s.Update([]sm.Entry{entry(t, i, now, op)}); err != nil {
			t.Fatal(err)
		}
	}
	fromMemory := map[uint64][]event.Event{}
	for _, after := range []uint64{0, 2, 3, 17, 29, 30} {
		evs, err := s.Read(after, 7)
		if err != nil {
			t.Fatal(err)
		}
		fromMemory[after] = evs
	}
	s.Close()
	s2 := open(t, Config{Dir: dir}) // a fresh tail: every read below goes to Pebble
	for after, want := range fromMemory {
		got, err := s2.Read(after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after %d:\nmemory %+v\npebble %+v", after, want, got)
		}
	}
}

// Dragonboat may open a state machine again after closing it (a replica
// stopped and started on the same value): exports work again.
func TestExportAfterReopen(t *testing.T) {
	s := open(t, Config{})
	update(t, s, entry(t, 1, time.Unix(1000, 0), set("k", "v")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Export(io.Discard); !errors.Is(err, ErrClosed) {
		t.Fatalf("export of a closed state machine: %v, want ErrClosed", err)
	}
	if _, err := s.Open(nil); err != nil {
		t.Fatal(err)
	}
	if index, err := s.Export(io.Discard); err != nil || index != 1 {
		t.Fatalf("export after reopening: index %d, %v", index, err)
	}
}
