package statemachine

import (
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
)

// sessionStore is what session and lock rules read and write: sessions,
// and the lock delays of keys whose lock was taken from an invalidated
// session.
type sessionStore interface {
	session(id string) (*event.Session, error)
	putSession(s *event.Session) error
	delSession(id string) error
	// lockDelay is the end of key's lock delay (Unix ns), 0 if none.
	lockDelay(key string) (int64, error)
	setLockDelay(key string, until int64) error
}

type pebbleSessions struct {
	batch            *pebble.Batch
	sessions, delays byte
}

func newPebbleSessions(b *pebble.Batch, base bool) *pebbleSessions {
	s := &pebbleSessions{batch: b, sessions: areaSessions, delays: areaLockWait}
	if base {
		s.sessions, s.delays = baseOf(areaSessions), baseOf(areaLockWait)
	}
	return s
}

func (p *pebbleSessions) session(id string) (*event.Session, error) {
	return getJSON[event.Session](p.batch, areaKey(p.sessions, id))
}
func (p *pebbleSessions) putSession(s *event.Session) error {
	return putJSON(p.batch, areaKey(p.sessions, s.ID), s)
}
func (p *pebbleSessions) delSession(id string) error {
	return p.batch.Delete(areaKey(p.sessions, id), nil)
}
func (p *pebbleSessions) lockDelay(key string) (int64, error) {
	v, closer, err := p.batch.Get(areaKey(p.delays, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	return int64(u64(v)), nil
}
func (p *pebbleSessions) setLockDelay(key string, until int64) error {
	if until == 0 {
		return p.batch.Delete(areaKey(p.delays, key), nil)
	}
	return p.batch.Set(areaKey(p.delays, key), u64Bytes(uint64(until)), nil)
}

// memSessions is a sessionStore in memory, for replays.
type memSessions struct {
	sessions map[string]*event.Session
	delays   map[string]int64
}

func newMemSessions() *memSessions {
	return &memSessions{sessions: map[string]*event.Session{}, delays: map[string]int64{}}
}

func (m *memSessions) session(id string) (*event.Session, error) { return m.sessions[id], nil }
func (m *memSessions) putSession(s *event.Session) error         { m.sessions[s.ID] = s; return nil }
func (m *memSessions) delSession(id string) error                { delete(m.sessions, id); return nil }
func (m *memSessions) lockDelay(key string) (int64, error)       { return m.delays[key], nil }
func (m *memSessions) setLockDelay(key string, until int64) error {
	if until == 0 {
		delete(m.delays, key)
	} else {
		m.delays[key] = until
	}
	return nil
}
