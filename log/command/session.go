package command

import "github.com/heraldhq/herald/event"

// SessionCreateBody creates a session (TypeSessionCreate). The proposer
// picks the ID and, for a TTL session, the first deadline.
type SessionCreateBody struct{ Session event.Session }

// SessionDestroyBody destroys or invalidates a session (TypeSessionDestroy):
// its locks are released or their keys deleted, by its behavior, and the
// released keys enter their lock delay.
type SessionDestroyBody struct{ ID string }

// SessionRenewBody moves a TTL session's deadline (TypeSessionRenew).
type SessionRenewBody struct {
	ID       string
	Deadline int64
}

func (b *SessionCreateBody) Type() Type  { return TypeSessionCreate }
func (b *SessionDestroyBody) Type() Type { return TypeSessionDestroy }
func (b *SessionRenewBody) Type() Type   { return TypeSessionRenew }

func (b *SessionCreateBody) encode(e *encoder) {
	s := &b.Session
	e.string(s.ID)
	e.string(s.Name)
	e.string(s.Node)
	e.varint(s.LockDelay)
	e.string(s.Behavior)
	e.string(s.TTL)
	e.strings(s.NodeChecks)
	e.uvarint(uint64(len(s.ServiceChecks)))
	for _, c := range s.ServiceChecks {
		e.string(c.ID)
		e.string(c.Namespace)
	}
	e.varint(s.Deadline)
}

func (b *SessionCreateBody) decode(d *decoder) error {
	s := &b.Session
	s.ID, s.Name, s.Node = d.string(), d.string(), d.string()
	s.LockDelay = d.varint()
	s.Behavior, s.TTL = d.string(), d.string()
	s.NodeChecks = d.strings()
	if n := d.count(2); n > 0 {
		s.ServiceChecks = make([]event.ServiceCheck, n)
		for i := range s.ServiceChecks {
			s.ServiceChecks[i] = event.ServiceCheck{ID: d.string(), Namespace: d.string()}
		}
	}
	s.Deadline = d.varint()
	return d.err
}

func (b *SessionDestroyBody) encode(e *encoder) { e.string(b.ID) }
func (b *SessionDestroyBody) decode(d *decoder) error {
	b.ID = d.string()
	return d.err
}

func (b *SessionRenewBody) encode(e *encoder) {
	e.string(b.ID)
	e.varint(b.Deadline)
}
func (b *SessionRenewBody) decode(d *decoder) error {
	b.ID, b.Deadline = d.string(), d.varint()
	return d.err
}

// RestoreBody replaces a shard's whole state with a snapshot of it
// (TypeRestore): the stream that statemachine's Export writes. The
// snapshot's index becomes the shard's index, so restored entries keep
// their indexes and later writes get higher ones.
type RestoreBody struct{ Data []byte }

func (b *RestoreBody) Type() Type { return TypeRestore }

// Redacted is the body without the snapshot, which holds every secret of
// the shard (see Redactor).
func (b *RestoreBody) Redacted() Body { return &RestoreBody{Data: []byte(RedactedText)} }

func (b *RestoreBody) encode(e *encoder) { e.bytes(b.Data) }
func (b *RestoreBody) decode(d *decoder) error {
	b.Data = d.bytes()
	return d.err
}
