package statemachine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// KV replication from another datacenter (kv shard): a KVReplicateBody
// writes and deletes the replicated keys and records the source index it
// reached, in the same Pebble batch as everything the command applies, so
// that the record and the keys never disagree, and a replicator that takes
// over after a leader died resumes exactly after the last batch applied.

const areaKVReplication byte = 0x22 // source dc \x00 prefix \x00 destination prefix -> JSON KVReplicationProgress

// KVReplicationProgress is how far one replication has come, as the
// destination's kv shard has applied it.
type KVReplicationProgress struct {
	// SourceIndex is the source datacenter's index the replication has
	// applied every change up to.
	SourceIndex uint64
	// Index is this shard's index at which the last batch applied, and
	// Time the proposer's clock then (Unix ns).
	Index uint64
	Time  int64
}

func kvReplicationKey(area byte, source, prefix, destination string) []byte {
	return areaKey(area, source+"\x00"+prefix+"\x00"+destination)
}

// kvReplicationStore holds the progress records; its batch is nil where
// no record is kept (an offline replay of the KV history, which holds
// only batches that applied).
type kvReplicationStore struct {
	batch *pebble.Batch
	area  byte
}

func newKVReplicationStore(b *pebble.Batch, base bool) kvReplicationStore {
	if base {
		return kvReplicationStore{batch: b, area: baseOf(areaKVReplication)}
	}
	return kvReplicationStore{batch: b, area: areaKVReplication}
}

// applyKVReplicate applies a batch if it continues from the recorded
// source index, and refuses it whole otherwise. The keys change by the
// rules of a plain set and delete (a set keeps a lock a local session
// holds on the key), each with its event, in the source's order.
func applyKVReplicate(st kvReplicationStore, kv kvStore, sessions sessionStore, idx uint64, now int64,
	b *command.KVReplicateBody, emit func(event.Event)) error {
	var key []byte
	if st.batch != nil {
		key = kvReplicationKey(st.area, b.SourceDatacenter, b.Prefix, b.DestinationPrefix)
		p, err := getJSON[KVReplicationProgress](st.batch, key)
		if err != nil {
			return err
		}
		var at uint64
		if p != nil {
			at = p.SourceIndex
		}
		if at != b.Expect {
			return failed("kv replication from %s: the batch continues from source index %d, but %d is applied",
				b.SourceDatacenter, b.Expect, at)
		}
	}
	for i := range b.Ops {
		op := &b.Ops[i]
		if op.Index <= b.Expect || op.Index > b.Last || !strings.HasPrefix(op.Key, b.DestinationPrefix) {
			return failed("kv replication from %s: change %d (key %q, source index %d) is outside the batch",
				b.SourceDatacenter, i, op.Key, op.Index)
		}
	}
	// Checked whole before anything is written: a refusal changes nothing.
	for i := range b.Ops {
		op := &b.Ops[i]
		kop := command.KVOp{Verb: command.KVSet, Key: op.Key, Flags: op.Flags, Value: op.Value}
		if op.Delete {
			kop = command.KVOp{Verb: command.KVDelete, Key: op.Key}
		}
		if _, err := applyKVOp(kv, sessions, idx, now, &kop, emit); err != nil {
			var refused *refusedError
			if errors.As(err, &refused) {
				// A set or a delete is never refused; if one were, the
				// replicas would still agree, but say so loudly.
				return fmt.Errorf("kv replication: %s of %q refused: %w", kop.Verb, op.Key, err)
			}
			return err
		}
	}
	if st.batch == nil {
		return nil
	}
	return putJSON(st.batch, key, &KVReplicationProgress{SourceIndex: b.Last, Index: idx, Time: now})
}

// KVReplicationProgress is the progress of the replication of prefix from
// source to destination as this replica has applied it; nil when no
// batch of it has applied yet.
func (s *StateMachine) KVReplicationProgress(source, prefix, destination string) (*KVReplicationProgress, error) {
	return readRecord[KVReplicationProgress](s, kvReplicationKey(areaKVReplication, source, prefix, destination))
}

// readRecord reads one JSON record of this replica's state, nil when there
// is none: the replications' status records.
func readRecord[T any](s *StateMachine, key []byte) (*T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	return getJSON[T](s.db, key)
}
