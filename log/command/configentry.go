package command

import "github.com/heraldhq/herald/event"

// Config entry commands (catalog shard), Consul's /v1/config writes.
const (
	// TypeConfigEntrySet writes a config entry (ConfigEntrySetBody).
	TypeConfigEntrySet Type = 72
	// TypeConfigEntryDelete deletes one (ConfigEntryDeleteBody).
	TypeConfigEntryDelete Type = 73
)

// ConfigEntrySetBody writes Entry (its Kind, Name and Body; indexes are
// the state machine's). With CAS, only if the entry's ModifyIndex is Index
// (0: only if there is none); a failed comparison is a refusal.
type ConfigEntrySetBody struct {
	Entry event.ConfigEntry
	CAS   bool
	Index uint64
}

// ConfigEntryDeleteBody deletes the entry of Kind and Name, with CAS only
// if its ModifyIndex is Index. Deleting an entry that does not exist
// succeeds (a CAS delete of one compares with 0).
type ConfigEntryDeleteBody struct {
	Kind, Name string
	CAS        bool
	Index      uint64
}

func (b *ConfigEntrySetBody) Type() Type    { return TypeConfigEntrySet }
func (b *ConfigEntryDeleteBody) Type() Type { return TypeConfigEntryDelete }

func (b *ConfigEntrySetBody) encode(e *encoder) {
	e.string(b.Entry.Kind)
	e.string(b.Entry.Name)
	e.bytes(b.Entry.Body)
	e.bool(b.CAS)
	e.uvarint(b.Index)
}

func (b *ConfigEntrySetBody) decode(d *decoder) error {
	b.Entry.Kind, b.Entry.Name = d.string(), d.string()
	b.Entry.Body = d.bytes()
	b.CAS = d.bool()
	b.Index = d.uvarint()
	return d.err
}

func (b *ConfigEntryDeleteBody) encode(e *encoder) {
	e.string(b.Kind)
	e.string(b.Name)
	e.bool(b.CAS)
	e.uvarint(b.Index)
}

func (b *ConfigEntryDeleteBody) decode(d *decoder) error {
	b.Kind, b.Name = d.string(), d.string()
	b.CAS = d.bool()
	b.Index = d.uvarint()
	return d.err
}
