package statemachine

import (
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Session rules, after Consul's: a session holds locks on keys; when it is
// destroyed or invalidated, each held key is released (or deleted, with the
// "delete" behavior) and, for the session's lock delay, nobody may take it,
// so a holder that lost its session has time to notice before a new holder
// acts. Times are the commands' own, so replicas agree.

func applySessionCreate(st sessionStore, idx uint64, b *command.SessionCreateBody, emit func(event.Event)) error {
	s := b.Session
	if s.ID == "" {
		return failed("Missing session ID")
	}
	old, err := st.session(s.ID)
	if err != nil {
		return err
	}
	if old != nil {
		return failed("session %q already exists", s.ID)
	}
	if s.Behavior == "" {
		s.Behavior = "release"
	}
	s.CreateIndex, s.ModifyIndex = idx, idx
	if err := st.putSession(&s); err != nil {
		return err
	}
	emit(event.Event{Type: event.SessionUpdated, Shard: event.ShardKV, Index: idx, Key: s.ID, Session: &s})
	return nil
}

func applySessionRenew(st sessionStore, idx uint64, b *command.SessionRenewBody, emit func(event.Event)) error {
	s, err := st.session(b.ID)
	if err != nil {
		return err
	}
	if s == nil {
		return failed("Session id '%s' not found", b.ID)
	}
	s.Deadline = b.Deadline
	if err := st.putSession(s); err != nil {
		return err
	}
	emit(event.Event{Type: event.SessionUpdated, Shard: event.ShardKV, Index: idx, Key: s.ID, Session: s})
	return nil
}

func applySessionDestroy(kv kvStore, st sessionStore, idx uint64, now int64, id string, emit func(event.Event)) error {
	s, err := st.session(id)
	if err != nil || s == nil {
		return err // destroying an unknown session is a success, as in Consul
	}
	var held []*event.KVEntry
	if err := kv.scan("", func(e *event.KVEntry) error {
		if e.Session == id {
			held = append(held, e)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, e := range held {
		if s.LockDelay > 0 {
			if err := st.setLockDelay(e.Key, now+s.LockDelay); err != nil {
				return err
			}
		}
		if s.Behavior == "delete" {
			if err := kv.del(e.Key); err != nil {
				return err
			}
			emit(event.Event{Type: event.KVDeleted, Shard: event.ShardKV, Index: idx, Key: e.Key,
				KV: &event.KVEntry{Key: e.Key, ModifyIndex: idx}})
			continue
		}
		released := *e
		released.Session, released.ModifyIndex = "", idx
		if err := kv.put(&released); err != nil {
			return err
		}
		emit(event.Event{Type: event.KVUpdated, Shard: event.ShardKV, Index: idx, Key: e.Key, KV: &released})
	}
	if err := st.delSession(id); err != nil {
		return err
	}
	emit(event.Event{Type: event.SessionDeleted, Shard: event.ShardKV, Index: idx, Key: id, Session: s})
	return nil
}
