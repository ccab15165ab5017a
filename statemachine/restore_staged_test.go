package statemachine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/log/command"
)

func restoreEntry(t *testing.T, index uint64, at time.Time, body command.Body) sm.Entry {
	t.Helper()
	b, err := command.Encode(command.Command{Time: at.UnixNano(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return sm.Entry{Index: index, Cmd: b}
}

func resultOf(t *testing.T, e sm.Entry) command.Result {
	t.Helper()
	res, err := command.DecodeResult(e.Result.Value, e.Result.Data)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// snapshotOfKeys is a shard that applied n writes, k/01 to k/<n>, the ith
// with a value of i bytes, at indexes 1 to n, and its snapshot.
func snapshotOfKeys(t *testing.T, n uint64, now time.Time) (*StateMachine, *bytes.Buffer) {
	t.Helper()
	src := open(t, Config{})
	var entries []sm.Entry
	for i := uint64(1); i <= n; i++ {
		entries = append(entries, entry(t, i, now, set(fmt.Sprintf("k/%02d", i), strings.Repeat("v", int(i)))))
	}
	if _, err := src.Update(entries); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if _, err := src.Export(&snap); err != nil {
		t.Fatal(err)
	}
	return src, &snap
}

// A snapshot staged in chunks and committed replaces the state exactly as
// the snapshot had it; chunks out of order, of another restore, or a
// commit that does not count them all are refused and change nothing;
// entries after a commit in the same Update apply over the restored state.
func TestStagedRestore(t *testing.T) {
	now := time.Unix(1000, 0)
	src, snap := snapshotOfKeys(t, 40, now)
	var chunks [][]byte
	index, err := SplitSnapshot(bytes.NewReader(snap.Bytes()), 300, func(records []byte) error {
		chunks = append(chunks, append([]byte(nil), records...))
		return nil
	})
	if err != nil || index != 40 || len(chunks) < 3 {
		t.Fatalf("split: index %d, %d chunks, %v", index, len(chunks), err)
	}

	sink := &recordingSink{}
	dst := open(t, Config{Sink: sink})
	idx := uint64(0)
	next := func(body command.Body) sm.Entry { idx++; return restoreEntry(t, idx, now, body) }
	apply := func(es ...sm.Entry) []sm.Entry {
		t.Helper()
		out, err := dst.Update(es)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	apply(entry(t, 1, now, set("stale", "gone after the restore")))
	idx = 1
	out := apply(next(&command.RestoreBeginBody{ID: "r1"}),
		next(&command.RestoreChunkBody{ID: "r1", Seq: 1, Records: chunks[1]}),            // out of order
		next(&command.RestoreChunkBody{ID: "r0", Seq: 0, Records: chunks[0]}),            // another restore
		next(&command.RestoreChunkBody{ID: "r1", Seq: 0, Records: []byte{0x10, 5, 'a'}}), // truncated record
	)
	for i, want := range []bool{true, false, false, false} {
		if res := resultOf(t, out[i]); res.Succeeded != want {
			t.Fatalf("entry %d: %+v, want success %v", i, res, want)
		}
	}
	var staged []sm.Entry
	for i, c := range chunks {
		staged = append(staged, next(&command.RestoreChunkBody{ID: "r1", Seq: uint64(i), Records: c}))
	}
	staged = append(staged, next(&command.RestoreCommitBody{ID: "r1", Chunks: uint64(len(chunks) - 1), Index: index}))
	out = apply(staged...)
	if res := resultOf(t, out[len(out)-1]); res.Succeeded {
		t.Fatal("a commit missing a chunk succeeded")
	}
	if got := liveKV(t, dst); len(got) != 1 {
		t.Fatalf("refused steps changed the state: %v", got)
	}
	// The commit, not first in its batch, and a write after it.
	out = apply(next(&command.RestoreAbortBody{ID: "other"}), // not the staged one: ignored
		next(&command.RestoreCommitBody{ID: "r1", Chunks: uint64(len(chunks)), Index: index}),
		restoreEntry(t, idx+1, now, &command.KVBody{Op: set("after", "x")}))
	if len(out) != 3 || !resultOf(t, out[1]).Succeeded || !resultOf(t, out[2]).Succeeded {
		t.Fatalf("commit and write after it: %d results", len(out))
	}
	want := liveKV(t, src)
	got := liveKV(t, dst)
	after := got["after"]
	delete(got, "after")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("restored state differs:\n got %v\nwant %v", got, want)
	}
	// The restore keeps the snapshot's indexes and continues after them.
	if after != fmt.Sprintf("x@%d/%d", index+2, index+2) {
		t.Fatalf("write after the restore: %s, want index %d", after, index+2)
	}
	if len(sink.loaded) != 41 {
		t.Fatalf("projections reloaded with %d keys", len(sink.loaded))
	}
	// The staging area is gone: a commit again is refused.
	out = apply(restoreEntry(t, idx+2, now, &command.RestoreCommitBody{ID: "r1", Chunks: uint64(len(chunks)), Index: index}))
	if resultOf(t, out[0]).Succeeded {
		t.Fatal("a second commit of the same restore succeeded")
	}
}

// stagedRestoreLog is the log of a restore over a shard that held one
// key: a write, the restore's begin, chunks and commit, and a write after
// it; the commit is entry commitAt (0-based). want is the state the
// restore carries.
func stagedRestoreLog(t *testing.T) (log []sm.Entry, commitAt int, want map[string]string) {
	t.Helper()
	now := time.Unix(1000, 0)
	src, snap := snapshotOfKeys(t, 60, now)
	log = append(log, entry(t, 1, now, set("stale", "gone after the restore")))
	log = append(log, restoreEntry(t, 2, now, &command.RestoreBeginBody{ID: "r1"}))
	var chunks uint64
	index, err := SplitSnapshot(bytes.NewReader(snap.Bytes()), 500, func(records []byte) error {
		log = append(log, restoreEntry(t, uint64(len(log)+1), now,
			&command.RestoreChunkBody{ID: "r1", Seq: chunks, Records: append([]byte(nil), records...)}))
		chunks++
		return nil
	})
	if err != nil || chunks < 3 {
		t.Fatalf("split: %d chunks, %v", chunks, err)
	}
	commitAt = len(log)
	log = append(log, restoreEntry(t, uint64(len(log)+1), now, &command.RestoreCommitBody{ID: "r1", Chunks: chunks, Index: index}))
	log = append(log, restoreEntry(t, uint64(len(log)+1), now, &command.KVBody{Op: set("after", "x")}))
	return log, commitAt, liveKV(t, src)
}

// dbState is every key and value of the database but the per-replica
// bookkeeping (areaLocal), in key order.
func dbState(t *testing.T, s *StateMachine) []string {
	t.Helper()
	it := s.db.NewIter(nil)
	defer it.Close()
	var out []string
	for ok := it.First(); ok; ok = it.Next() {
		if it.Key()[0] == areaLocal {
			continue
		}
		out = append(out, fmt.Sprintf("%x=%x", it.Key(), it.Value()))
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A replica that stops at any step of a restore's swap (as a crash would:
// the swap's error stops Update, the state machine is closed and opened
// again on the same data) applies the commit again from the index it
// reopens at, and ends with exactly the state of a replica that was never
// interrupted; no table file of the swap is left behind.
func TestStagedRestoreCrashAtEachStep(t *testing.T) {
	log, commitAt, want := stagedRestoreLog(t)
	apply := func(s *StateMachine, es []sm.Entry) error {
		_, err := s.Update(append([]sm.Entry(nil), es...))
		return err
	}

	straight := open(t, Config{})
	if err := apply(straight, log[:commitAt]); err != nil {
		t.Fatal(err)
	}
	if err := apply(straight, log[commitAt:]); err != nil {
		t.Fatal(err)
	}
	got := liveKV(t, straight)
	if got["after"] == "" {
		t.Fatal("the write after the restore is missing")
	}
	delete(got, "after")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("restored state differs:\n got %v\nwant %v", got, want)
	}
	wantState := dbState(t, straight)

	steps := []struct {
		name string
		step swapStepName
	}{{"cleared", swapCleared}, {"tables written", swapTablesWritten}, {"ingested", swapIngested}, {"swapped", swapDone}}
	for _, tc := range steps {
		step := tc.step
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, Config{Dir: dir})
			if err := apply(s, log[:commitAt]); err != nil {
				t.Fatal(err)
			}
			crash := fmt.Errorf("crash after step %d", step)
			s.swapHook = func(at swapStepName) error {
				if at == step {
					return crash
				}
				return nil
			}
			if err := apply(s, log[commitAt:]); err == nil || !strings.Contains(err.Error(), crash.Error()) {
				t.Fatalf("update through the crash: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			again := open(t, Config{Dir: dir})
			applied := again.Applied()
			if applied != uint64(commitAt) {
				t.Fatalf("reopened at index %d, want %d (before the commit)", applied, commitAt)
			}
			if err := apply(again, log[applied:]); err != nil {
				t.Fatal(err)
			}
			if got := dbState(t, again); !reflect.DeepEqual(got, wantState) {
				t.Fatalf("state after the replayed swap differs from the uninterrupted one:\n got %d keys %v\nwant %d keys %v",
					len(got), got, len(wantState), wantState)
			}
			if _, err := os.Stat(filepath.Join(dir, restoreTablesDir)); !os.IsNotExist(err) {
				t.Fatalf("the swap's tables are left behind: %v", err)
			}
		})
	}
}
