package statemachine

import (
	"fmt"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// refusedError is an operation that Consul's rules refuse (a stale CAS index, a
// missing key in a txn get). It is an answer for the client, not a fault of
// the replica: apply goes on and the entry's result says what failed.
type refusedError struct{ what string }

func (e *refusedError) Error() string { return e.what }

func failed(format string, args ...any) error {
	return &refusedError{what: fmt.Sprintf(format, args...)}
}

// applyKVOp applies one KV operation at Raft index idx. It returns the
// entries a transaction reports for the operation, a *refusedError when the
// operation is refused, or another error when the store failed. Changes are
// reported through emit in the order they happen.
func applyKVOp(s kvStore, sessions sessionStore, idx uint64, now int64, op *command.KVOp, emit func(event.Event)) ([]*event.KVEntry, error) {
	updated := func(e *event.KVEntry) {
		emit(event.Event{Type: event.KVUpdated, Shard: event.ShardKV, Index: idx, Key: e.Key, KV: e})
	}
	deleted := func(key string) {
		emit(event.Event{Type: event.KVDeleted, Shard: event.ShardKV, Index: idx, Key: key,
			KV: &event.KVEntry{Key: key, ModifyIndex: idx}})
	}
	existing, err := s.get(op.Key)
	if err != nil {
		return nil, err
	}
	// withoutValue is what a transaction returns for a write: the entry's
	// metadata, never the value the client just sent.
	withoutValue := func(e *event.KVEntry) []*event.KVEntry {
		c := *e
		c.Value = nil
		return []*event.KVEntry{&c}
	}

	switch op.Verb {
	case command.KVSet, command.KVCAS:
		if op.Verb == command.KVCAS {
			switch {
			case existing == nil && op.Index != 0,
				existing != nil && op.Index == 0,
				existing != nil && existing.ModifyIndex != op.Index:
				return nil, failed("failed to set key %q, index is stale", op.Key)
			}
		}
		e := &event.KVEntry{Key: op.Key, Flags: op.Flags, Value: op.Value, CreateIndex: idx, ModifyIndex: idx}
		if existing != nil {
			// A plain write keeps the lock: only lock and unlock change it.
			e.CreateIndex, e.LockIndex, e.Session = existing.CreateIndex, existing.LockIndex, existing.Session
		}
		if err := s.put(e); err != nil {
			return nil, err
		}
		updated(e)
		return withoutValue(e), nil

	case command.KVDelete:
		if existing == nil {
			return nil, nil
		}
		if err := s.del(op.Key); err != nil {
			return nil, err
		}
		deleted(op.Key)
		return nil, nil

	case command.KVDeleteCAS:
		if existing == nil {
			return nil, nil // nothing to delete: Consul calls that a success
		}
		if existing.ModifyIndex != op.Index {
			return nil, failed("failed to delete key %q, index is stale", op.Key)
		}
		if err := s.del(op.Key); err != nil {
			return nil, err
		}
		deleted(op.Key)
		return nil, nil

	case command.KVDeleteTree:
		var keys []string
		if err := s.scan(op.Key, func(e *event.KVEntry) error {
			keys = append(keys, e.Key)
			return nil
		}); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if err := s.del(k); err != nil {
				return nil, err
			}
			deleted(k)
		}
		return nil, nil

	case command.KVGet:
		if existing == nil {
			return nil, failed("key %q doesn't exist", op.Key)
		}
		return []*event.KVEntry{existing.Clone()}, nil

	case command.KVGetTree:
		var out []*event.KVEntry
		err := s.scan(op.Key, func(e *event.KVEntry) error {
			out = append(out, e.Clone())
			return nil
		})
		return out, err

	case command.KVCheckIndex:
		if existing == nil {
			return nil, failed("key %q doesn't exist", op.Key)
		}
		if existing.ModifyIndex != op.Index {
			return nil, failed("current modify index %d != %d", existing.ModifyIndex, op.Index)
		}
		return withoutValue(existing), nil

	case command.KVCheckNotExists:
		if existing != nil {
			return nil, failed("key %q exists", op.Key)
		}
		return nil, nil

	case command.KVLock:
		sess, err := sessions.session(op.Session)
		if err != nil {
			return nil, err
		}
		if sess == nil {
			return nil, failed("%s", command.InvalidSession(op.Session))
		}
		e := &event.KVEntry{Key: op.Key, Flags: op.Flags, Value: op.Value, CreateIndex: idx, ModifyIndex: idx,
			Session: op.Session, LockIndex: 1}
		if existing != nil {
			e.CreateIndex, e.LockIndex = existing.CreateIndex, existing.LockIndex+1
			switch existing.Session {
			case op.Session:
				// The holder may update its key; the lock does not move.
				e.LockIndex = existing.LockIndex
			case "":
			default:
				return nil, failed("failed to lock key %q, lock is already held", op.Key)
			}
		}
		if existing == nil || existing.Session != op.Session {
			until, err := sessions.lockDelay(op.Key)
			if err != nil {
				return nil, err
			}
			if now < until {
				return nil, failed("failed to lock key %q, lock delay in effect", op.Key)
			}
		}
		if err := s.put(e); err != nil {
			return nil, err
		}
		updated(e)
		return withoutValue(e), nil

	case command.KVUnlock:
		if existing == nil || existing.Session != op.Session {
			return nil, failed("failed to unlock key %q, lock isn't held, or is held by another session", op.Key)
		}
		e := &event.KVEntry{Key: op.Key, Flags: op.Flags, Value: op.Value, CreateIndex: existing.CreateIndex,
			ModifyIndex: idx, LockIndex: existing.LockIndex}
		if err := s.put(e); err != nil {
			return nil, err
		}
		updated(e)
		return withoutValue(e), nil

	case command.KVCheckSession:
		if existing == nil {
			return nil, failed("key %q doesn't exist", op.Key)
		}
		if existing.Session != op.Session {
			return nil, failed("failed session check for key %q, current session %q != %q", op.Key, existing.Session, op.Session)
		}
		return withoutValue(existing), nil
	}
	return nil, failed("unknown KV verb %q", op.Verb)
}
