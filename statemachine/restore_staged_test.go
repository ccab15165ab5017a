package statemachine

import (
	"bytes"
	"fmt"
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

// A snapshot staged in chunks and committed replaces the state exactly as
// the snapshot had it; chunks out of order, of another restore, or a
// commit that does not count them all are refused and change nothing;
// entries after a commit in the same Update apply over the restored state.
func TestStagedRestore(t *testing.T) {
	now := time.Unix(1000, 0)
	src := open(t, Config{})
	var entries []sm.Entry
	for i := uint64(1); i <= 40; i++ {
		entries = append(entries, entry(t, i, now, set(fmt.Sprintf("k/%02d", i), strings.Repeat("v", int(i)))))
	}
	if _, err := src.Update(entries); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if _, err := src.Export(&snap); err != nil {
		t.Fatal(err)
	}
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
