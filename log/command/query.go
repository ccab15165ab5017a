package command

import "github.com/heraldhq/herald/event"

// Prepared query commands (catalog shard). Their numbers are explicit: the
// range 40–47 is theirs.
const (
	// TypeQuerySet creates or replaces a prepared query (QuerySetBody).
	TypeQuerySet Type = 40
	// TypeQueryDelete deletes a prepared query (QueryDeleteBody).
	TypeQueryDelete Type = 41
)

// QuerySetBody creates a prepared query or replaces the one with the same
// ID (TypeQuerySet). The proposer generates the ID of a new query, so that
// applying the command is deterministic; Create tells a create (which must
// not find the ID) from an update (which must).
type QuerySetBody struct {
	Create bool
	Query  event.PreparedQuery
}

// QueryDeleteBody deletes a prepared query by ID (TypeQueryDelete).
type QueryDeleteBody struct{ ID string }

func (b *QuerySetBody) Type() Type    { return TypeQuerySet }
func (b *QueryDeleteBody) Type() Type { return TypeQueryDelete }

func (b *QuerySetBody) encode(e *encoder) {
	e.bool(b.Create)
	q := &b.Query
	for _, s := range []string{q.ID, q.Name, q.Session, q.Token} {
		e.string(s)
	}
	sq := &q.Service
	e.string(sq.Service)
	e.string(sq.SamenessGroup)
	e.string(sq.Near)
	e.varint(int64(sq.Failover.NearestN))
	e.strings(sq.Failover.Datacenters)
	e.uvarint(uint64(len(sq.Failover.Targets)))
	for _, t := range sq.Failover.Targets {
		e.string(t.Peer)
		e.string(t.Datacenter)
	}
	e.strings(sq.IgnoreCheckIDs)
	e.bool(sq.OnlyPassing)
	e.strings(sq.Tags)
	e.stringMap(sq.NodeMeta)
	e.stringMap(sq.ServiceMeta)
	e.string(sq.Peer)
	e.bool(sq.Connect)
	e.string(q.DNS.TTL)
	e.string(q.Template.Type)
	e.string(q.Template.Regexp)
	e.bool(q.Template.RemoveEmptyTags)
}

func (b *QuerySetBody) decode(d *decoder) error {
	b.Create = d.bool()
	q := &b.Query
	for _, s := range []*string{&q.ID, &q.Name, &q.Session, &q.Token} {
		*s = d.string()
	}
	sq := &q.Service
	sq.Service, sq.SamenessGroup, sq.Near = d.string(), d.string(), d.string()
	sq.Failover.NearestN = int(d.varint())
	sq.Failover.Datacenters = d.strings()
	if n := d.count(2); n > 0 {
		sq.Failover.Targets = make([]event.QueryFailoverTarget, n)
		for i := range sq.Failover.Targets {
			sq.Failover.Targets[i] = event.QueryFailoverTarget{Peer: d.string(), Datacenter: d.string()}
		}
	}
	sq.IgnoreCheckIDs = d.strings()
	sq.OnlyPassing = d.bool()
	sq.Tags = d.strings()
	sq.NodeMeta = d.stringMap()
	sq.ServiceMeta = d.stringMap()
	sq.Peer = d.string()
	sq.Connect = d.bool()
	q.DNS.TTL = d.string()
	q.Template.Type, q.Template.Regexp = d.string(), d.string()
	q.Template.RemoveEmptyTags = d.bool()
	return d.err
}

func (b *QueryDeleteBody) encode(e *encoder) { e.string(b.ID) }
func (b *QueryDeleteBody) decode(d *decoder) error {
	b.ID = d.string()
	return d.err
}
