package command

import "github.com/heraldhq/herald/event"

// Config entry replication between datacenters (catalog shard): the
// leader of a secondary datacenter's catalog shard lists the primary's
// config entries and proposes what differs from its own as one command,
// whose apply writes the entries and records the primary's index it
// reached, in the same Pebble batch.
const (
	// TypeConfigReplicate applies one round of the primary's config
	// entries (ConfigReplicateBody). 93 to 95 are kept for config entry
	// replication.
	TypeConfigReplicate Type = 92
)

// ConfigReplicateBody is one round of config entry replication: the
// entries of the primary (SourceDatacenter) that this datacenter lacks or
// holds otherwise, and those it holds that the primary does not, as read
// at the primary's index SourceIndex.
//
// It applies only if SourceIndex is newer than the index recorded by the
// last round that applied (or with Resync, when the primary's index went
// back, as after a restore there); otherwise it changes nothing. A body
// with Error records a failed round (the message, at the command's Time)
// and nothing else.
type ConfigReplicateBody struct {
	SourceDatacenter string
	SourceIndex      uint64
	Resync           bool
	// Upserts are entries as the primary holds them (Kind, Name, Body;
	// indexes are this datacenter's); Deletes name entries to delete.
	Upserts []event.ConfigEntry
	Deletes []ConfigEntryRef
	Error   string
}

// ConfigEntryRef names a config entry.
type ConfigEntryRef struct {
	Kind, Name string
}

// ConfigReplicationStatus is the state of config entry replication that
// the catalog shard keeps: where the next round resumes, and what the
// status reports.
type ConfigReplicationStatus struct {
	SourceDatacenter string
	// SourceIndex is the primary's index the last applied round was read
	// at; Index this shard's index at which it applied.
	SourceIndex uint64
	Index       uint64
	// LastSuccess and LastError are the times (Unix ns, 0 for never) of
	// the last round that applied and of the last that failed.
	LastSuccess      int64
	LastError        int64
	LastErrorMessage string
}

func (b *ConfigReplicateBody) Type() Type { return TypeConfigReplicate }

func (b *ConfigReplicateBody) encode(e *encoder) {
	e.string(b.SourceDatacenter)
	e.uvarint(b.SourceIndex)
	e.bool(b.Resync)
	e.string(b.Error)
	e.uvarint(uint64(len(b.Upserts)))
	for _, c := range b.Upserts {
		e.string(c.Kind)
		e.string(c.Name)
		e.bytes(c.Body)
	}
	e.uvarint(uint64(len(b.Deletes)))
	for _, r := range b.Deletes {
		e.string(r.Kind)
		e.string(r.Name)
	}
}

func (b *ConfigReplicateBody) decode(d *decoder) error {
	b.SourceDatacenter, b.SourceIndex, b.Resync, b.Error = d.string(), d.uvarint(), d.bool(), d.string()
	// An entry takes at least 3 bytes, a name 2.
	if n := d.count(3); n > 0 {
		b.Upserts = make([]event.ConfigEntry, n)
	}
	for i := range b.Upserts {
		c := &b.Upserts[i]
		c.Kind, c.Name, c.Body = d.string(), d.string(), d.bytes()
	}
	if n := d.count(2); n > 0 {
		b.Deletes = make([]ConfigEntryRef, n)
	}
	for i := range b.Deletes {
		b.Deletes[i].Kind, b.Deletes[i].Name = d.string(), d.string()
	}
	return d.err
}
