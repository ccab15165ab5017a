package event

import "encoding/json"

// Config entry event types (catalog shard).
const (
	// ConfigEntryUpdated: a config entry was written. ConfigEntry holds it.
	ConfigEntryUpdated Type = "config.entry.updated"
	// ConfigEntryDeleted: a config entry was deleted. ConfigEntry holds it
	// as it was.
	ConfigEntryDeleted Type = "config.entry.deleted"
)

// ConfigEntry is one of Consul's config entries (service-defaults,
// proxy-defaults, service-intentions, ...). Body is the entry in the JSON
// shape of Consul's api package for its kind, without the indexes, which
// readers add from CreateIndex and ModifyIndex.
type ConfigEntry struct {
	Kind        string
	Name        string
	Body        json.RawMessage
	CreateIndex uint64
	ModifyIndex uint64
}

// ConfigEntrySource is a Source that holds config entries (the catalog
// shard's, from a build that has them).
type ConfigEntrySource interface {
	// ScanConfigEntries calls fn for every config entry.
	ScanConfigEntries(fn func(*ConfigEntry) error) error
}
