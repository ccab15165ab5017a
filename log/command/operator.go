package command

import "github.com/heraldhq/herald/event"

// Operator command types, numbered explicitly in their own range so that
// types added elsewhere at the same time cannot collide.
const (
	// TypeAutopilotSet writes the autopilot configuration (catalog shard).
	TypeAutopilotSet Type = 56
)

// AutopilotSetBody replaces the autopilot configuration (TypeAutopilotSet).
// With CAS, it is refused unless the stored configuration's ModifyIndex is
// Index (0: none written yet), as Consul's ?cas does. The indexes in
// Config are ignored: apply sets them.
type AutopilotSetBody struct {
	Config event.AutopilotConfig
	CAS    bool
	Index  uint64
}

func (b *AutopilotSetBody) Type() Type { return TypeAutopilotSet }

func (b *AutopilotSetBody) encode(e *encoder) {
	c := &b.Config
	e.bool(c.CleanupDeadServers)
	e.varint(c.LastContactThreshold)
	e.uvarint(c.MaxTrailingLogs)
	e.uvarint(c.MinQuorum)
	e.varint(c.ServerStabilizationTime)
	e.string(c.RedundancyZoneTag)
	e.bool(c.DisableUpgradeMigration)
	e.string(c.UpgradeVersionTag)
	e.bool(b.CAS)
	e.uvarint(b.Index)
}

func (b *AutopilotSetBody) decode(d *decoder) error {
	c := &b.Config
	c.CleanupDeadServers = d.bool()
	c.LastContactThreshold = d.varint()
	c.MaxTrailingLogs = d.uvarint()
	c.MinQuorum = d.uvarint()
	c.ServerStabilizationTime = d.varint()
	c.RedundancyZoneTag = d.string()
	c.DisableUpgradeMigration = d.bool()
	c.UpgradeVersionTag = d.string()
	b.CAS = d.bool()
	b.Index = d.uvarint()
	return d.err
}
