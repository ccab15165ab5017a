package statemachine

import (
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// A KV replication batch applies only right after the recorded source
// index: a repeat of it, one that skips ahead, or one with a change outside
// its range is refused whole.
func TestKVReplicateRules(t *testing.T) {
	batch := func(expect, last uint64, ops ...command.KVReplicateOp) *command.KVReplicateBody {
		return &command.KVReplicateBody{SourceDatacenter: "dc1", Prefix: "app/", DestinationPrefix: "mirror/",
			Expect: expect, Last: last, Ops: ops}
	}
	put := func(idx uint64, key, value string) command.KVReplicateOp {
		return command.KVReplicateOp{Index: idx, Key: key, Value: []byte(value)}
	}
	del := func(idx uint64, key string) command.KVReplicateOp {
		return command.KVReplicateOp{Index: idx, Key: key, Delete: true}
	}
	first := batch(0, 12, put(10, "mirror/a", "1"), put(12, "mirror/b", "2"))
	runRules(t, []ruleCase{{
		name:   "first batch",
		apply:  first,
		events: []string{"kv.updated mirror/a value=1 lock=0 @1/1", "kv.updated mirror/b value=2 lock=0 @1/1"},
	}, {
		name:   "next batch: an update and a delete",
		setup:  []command.Body{first},
		apply:  batch(12, 20, put(15, "mirror/a", "3"), del(20, "mirror/b")),
		events: []string{"kv.updated mirror/a value=3 lock=0 @1/2", "kv.deleted mirror/b"},
	}, {
		name:    "the same batch again",
		setup:   []command.Body{first},
		apply:   first,
		refused: "kv replication from dc1: the batch continues from source index 0, but 12 is applied",
	}, {
		name:    "a batch that skips ahead",
		setup:   []command.Body{first},
		apply:   batch(14, 20, put(15, "mirror/a", "3")),
		refused: "kv replication from dc1: the batch continues from source index 14, but 12 is applied",
	}, {
		name:    "a change at or before the batch's start",
		setup:   []command.Body{first},
		apply:   batch(12, 20, put(12, "mirror/a", "3")),
		refused: `kv replication from dc1: change 0 (key "mirror/a", source index 12) is outside the batch`,
	}, {
		name:    "a key outside the destination prefix",
		apply:   batch(0, 5, put(5, "elsewhere", "x")),
		refused: `kv replication from dc1: change 0 (key "elsewhere", source index 5) is outside the batch`,
	}, {
		name:  "another replication keeps its own progress",
		setup: []command.Body{first},
		apply: &command.KVReplicateBody{SourceDatacenter: "dc3", Prefix: "app/", DestinationPrefix: "mirror/",
			Expect: 0, Last: 4, Ops: []command.KVReplicateOp{put(4, "mirror/c", "x")}},
		events: []string{"kv.updated mirror/c value=x lock=0 @2/2"},
	}})
}

// The progress is read back as applied, and survives a reopen.
func TestKVReplicationProgressRead(t *testing.T) {
	s := open(t, Config{Sink: &recordingSink{}, Shard: "kv"})
	update(t, s, ruleEntry(t, 1, ruleT0, &command.KVReplicateBody{SourceDatacenter: "dc1", Prefix: "app/",
		DestinationPrefix: "mirror/", Expect: 0, Last: 42, Ops: []command.KVReplicateOp{{Index: 40, Key: "mirror/a"}}}))
	p, err := s.KVReplicationProgress("dc1", "app/", "mirror/")
	if err != nil || p == nil || p.SourceIndex != 42 || p.Index != 1 {
		t.Fatalf("progress: %+v %v, want source index 42 at index 1", p, err)
	}
	if p, err := s.KVReplicationProgress("dc1", "other/", "mirror/"); err != nil || p != nil {
		t.Errorf("progress of another replication: %+v %v, want none", p, err)
	}
}

// The history of a key written by replication replays on a live replica,
// and so does a catalog history holding a config entry write (whose store
// the replay lacked).
func TestHistoryReplaysReplicationAndConfigEntries(t *testing.T) {
	s := open(t, Config{Sink: &recordingSink{}, Shard: "kv"})
	update(t, s, ruleEntry(t, 1, ruleT0, &command.KVReplicateBody{SourceDatacenter: "dc1", Prefix: "app/",
		DestinationPrefix: "mirror/", Expect: 0, Last: 5, Ops: []command.KVReplicateOp{{Index: 5, Key: "mirror/a", Value: []byte("1")}}}))
	update(t, s, ruleEntry(t, 2, ruleT0, &command.KVReplicateBody{SourceDatacenter: "dc1", Prefix: "app/",
		DestinationPrefix: "mirror/", Expect: 5, Last: 9, Ops: []command.KVReplicateOp{{Index: 9, Key: "mirror/a", Value: []byte("2")}}}))
	h, err := s.ObjectHistory(ObjectKV, "mirror/a")
	if err != nil || len(h.Changes) != 2 {
		t.Fatalf("history of a replicated key: %+v %v, want two changes", h, err)
	}

	c := open(t, Config{Sink: &recordingSink{}, Shard: "catalog"})
	update(t, c, ruleEntry(t, 1, ruleT0, &command.ConfigEntrySetBody{Entry: event.ConfigEntry{Kind: "service-defaults", Name: "web",
		Body: []byte(`{"Kind":"service-defaults","Name":"web"}`)}}))
	update(t, c, ruleEntry(t, 2, ruleT0, &command.CatalogRegisterBody{Node: event.Node{Node: "n1", Address: "10.0.0.1"}}))
	if h, err := c.ObjectHistory(ObjectNode, "n1"); err != nil || len(h.Changes) != 1 {
		t.Fatalf("history of a node after a config entry write: %+v %v", h, err)
	}
}
