package statemachine

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/log/command"
)

// request is a KV command with a request ID and a deadline.
func request(t *testing.T, index uint64, at time.Time, id command.RequestID, deadline time.Time, op command.KVOp) sm.Entry {
	t.Helper()
	b, err := command.Encode(command.Command{Time: at.UnixNano(), ID: id, Deadline: deadline.UnixNano(), Body: &command.KVBody{Op: op}})
	if err != nil {
		t.Fatal(err)
	}
	return sm.Entry{Index: index, Cmd: b}
}

func update(t *testing.T, s *StateMachine, entries ...sm.Entry) []sm.Entry {
	t.Helper()
	out, err := s.Update(entries)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestARepeatedRequestIsAppliedOnce(t *testing.T) {
	s := open(t, Config{})
	now := time.Unix(1000, 0)
	deadline := now.Add(7 * time.Second)
	put := request(t, 1, now, command.RequestID{Proposer: 9, Seq: 1}, deadline, set("k", "first"))
	cas := request(t, 2, now, command.RequestID{Proposer: 9, Seq: 2}, deadline,
		command.KVOp{Verb: command.KVCAS, Key: "k", Value: []byte("second"), Index: 1})
	update(t, s, put, cas)

	// The put and the CAS come back (a retry that reached a new leader):
	// the put must not overwrite the CAS's value, and the CAS answers
	// what it answered the first time, not "index changed".
	put.Index, cas.Index = 3, 4
	res := update(t, s, put, cas)
	if res[1].Result.Value != command.ResultSucceeded {
		t.Fatalf("repeated CAS answered %+v, want its first answer (succeeded)", res[1].Result)
	}
	if got := liveKV(t, s)["k"]; got != "second@1/2" {
		t.Fatalf("k = %s after the repeats, want second@1/2", got)
	}
	if n := historyLen(t, s); n != 2 {
		t.Fatalf("history holds %d commands, want the 2 that took effect", n)
	}

	// The record survives a restart.
	dir := s.cfg.Dir
	s.Close()
	s2 := open(t, Config{Dir: dir})
	put.Index = 5
	update(t, s2, put)
	if got := liveKV(t, s2)["k"]; got != "second@1/2" {
		t.Fatalf("k = %s after a restart and a repeat, want second@1/2", got)
	}
}

func TestACommandAppliedAfterItsDeadlineIsRefused(t *testing.T) {
	s := open(t, Config{})
	now := time.Unix(1000, 0)
	late := request(t, 1, now, command.RequestID{Proposer: 9, Seq: 1}, now.Add(time.Second), set("k", "late"))
	// A newer command, proposed after the first one's deadline, is
	// applied first (the first one was stuck with a partitioned leader).
	newer := request(t, 2, now.Add(2*time.Second), command.RequestID{Proposer: 8, Seq: 1}, now.Add(9*time.Second), set("k", "newer"))
	late.Index = 3
	res := update(t, s, newer, late)
	if res[1].Result.Value != command.ResultFailed || !bytes.Contains(res[1].Result.Data, []byte("expired")) {
		t.Fatalf("late command answered %+v %s, want a refusal", res[1].Result, res[1].Result.Data)
	}
	if got := liveKV(t, s)["k"]; got != "newer@2/2" {
		t.Fatalf("k = %s, want newer@2/2", got)
	}
	// The clock is the newest proposer time, not the order of entries: a
	// command proposed earlier but within its deadline still applies.
	early := request(t, 4, now.Add(time.Second), command.RequestID{Proposer: 7, Seq: 1}, now.Add(3*time.Second), set("j", "ok"))
	if res := update(t, s, early); res[0].Result.Value != command.ResultSucceeded {
		t.Fatalf("command within its deadline answered %+v", res[0].Result)
	}
}

func TestRequestRecordsExpireAndTravelInSnapshots(t *testing.T) {
	src := open(t, Config{})
	now := time.Unix(1000, 0)
	id := command.RequestID{Proposer: 9, Seq: 1}
	put := request(t, 1, now, id, now.Add(5*time.Second), set("k", "v"))
	update(t, src, put)

	// A new replica recovered from a snapshot answers the repeat as the
	// source would: it has the record and the clock.
	var snap bytes.Buffer
	st, _ := src.PrepareSnapshot()
	if err := src.SaveSnapshot(st, &snap, nil); err != nil {
		t.Fatal(err)
	}
	dst := open(t, Config{})
	if err := dst.RecoverFromSnapshot(&snap, nil); err != nil {
		t.Fatal(err)
	}
	if dst.clock != now.UnixNano() {
		t.Fatalf("recovered clock %d, want %d", dst.clock, now.UnixNano())
	}
	overwrite := request(t, 2, now.Add(time.Second), command.RequestID{Proposer: 8, Seq: 1}, now.Add(8*time.Second), set("k", "w"))
	put.Index = 3
	update(t, dst, overwrite, put)
	if got := liveKV(t, dst)["k"]; got != "w@1/2" {
		t.Fatalf("k = %s on the recovered replica, want w@1/2", got)
	}

	// Once the clock passes the deadline, the record is dropped.
	update(t, src, request(t, 2, now.Add(10*time.Second), command.RequestID{Proposer: 8, Seq: 2}, now.Add(17*time.Second), set("x", "y")))
	if _, closer, err := src.db.Get(requestKey(now.Add(5*time.Second).UnixNano(), id)); !errors.Is(err, pebble.ErrNotFound) {
		if closer != nil {
			closer.Close()
		}
		t.Fatalf("expired record still there: %v", err)
	}
}

func historyLen(t *testing.T, s *StateMachine) int {
	t.Helper()
	it := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{areaHistory}, UpperBound: areaEnd(areaHistory)})
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}
