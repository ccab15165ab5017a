package event

// Shard names. Each shard is one Raft group; its index is the X-Consul-Index
// of the endpoints it serves.
const (
	ShardCatalog = "catalog"
	ShardKV      = "kv"
)

// Type names what happened. Types are dotted, lower case and in the past
// tense; they appear verbatim in the JSON payloads on the event stream, so an
// existing type is never renamed.
type Type string

const (
	// KVUpdated: a key was created or its value, flags, session or lock
	// index changed. KV holds the entry after the change.
	KVUpdated Type = "kv.updated"
	// KVDeleted: a key was removed. KV holds the key and the deleting index
	// as ModifyIndex.
	KVDeleted Type = "kv.deleted"
)

// Event is one change caused by one committed command. A command may cause
// several events (a transaction, a tree delete); they share the Index and keep
// the order in which the command caused them.
type Event struct {
	Type  Type
	Shard string
	Index uint64
	Key   string   `json:",omitempty"`
	KV    *KVEntry `json:",omitempty"`

	// Catalog events carry the record that changed; for a deletion, the
	// record as it was.
	Node    *Node    `json:",omitempty"`
	Service *Service `json:",omitempty"`
	Check   *Check   `json:",omitempty"`
	Session *Session `json:",omitempty"`
	// Query is the prepared query of a query event.
	Query *PreparedQuery `json:",omitempty"`
	// Autopilot is the autopilot configuration of AutopilotUpdated.
	Autopilot *AutopilotConfig `json:",omitempty"`
	// ConnectCA is the Connect CA's state after a change (connectca.go).
	ConnectCA *ConnectCA `json:",omitempty"`
	// ACL events carry the record that changed (acl.go).
	ACLToken  *ACLToken  `json:",omitempty"`
	ACLPolicy *ACLPolicy `json:",omitempty"`
	ACLRole   *ACLRole   `json:",omitempty"`
	// ConfigEntry is the config entry of a config entry event
	// (configentry.go).
	ConfigEntry *ConfigEntry `json:",omitempty"`

	// Accessor is the AccessorID of the token of the request that caused
	// the change (the command's origin); empty when ACLs are disabled, for
	// an agent's own work, and for commands written before origins were
	// recorded. Never a SecretID.
	Accessor string `json:",omitempty"`
}

// KVEntry is a key/value entry in Consul's KVPair JSON shape.
type KVEntry struct {
	Key         string
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Flags       uint64
	Value       []byte
	Session     string `json:",omitempty"`
}

// Clone returns a deep copy, so a reader can hand an entry out without
// sharing the value's backing array with the projection.
func (e *KVEntry) Clone() *KVEntry {
	if e == nil {
		return nil
	}
	c := *e
	if e.Value != nil {
		c.Value = append([]byte(nil), e.Value...)
	}
	return &c
}

// Source is a read-only view of a shard's state at one index. The state
// machine hands one to projections when they must be rebuilt from scratch:
// at start, and after a snapshot replaced the state.
type Source interface {
	// ScanKV calls fn for each KV entry whose key starts with prefix, in key
	// order, and stops at the first error fn returns.
	ScanKV(prefix string, fn func(*KVEntry) error) error
	// ScanCatalog calls the functions for every node, service instance and
	// check; any of them may be nil.
	ScanCatalog(node func(*Node) error, service func(*Service) error, check func(*Check) error) error
	// ScanSessions calls fn for every session.
	ScanSessions(fn func(*Session) error) error
	// ScanQueries calls fn for every prepared query.
	ScanQueries(fn func(*PreparedQuery) error) error
}

// StateRestored: a snapshot replaced the shard's whole state; readers that
// keep state must read it again. It carries no record.
const StateRestored Type = "state.restored"

// Session event types (kv shard).
const (
	// SessionUpdated: a session was created or renewed. Session holds it.
	SessionUpdated Type = "session.updated"
	// SessionDeleted: a session was destroyed or invalidated; the locks it
	// held were released or their keys deleted, each with its own event.
	SessionDeleted Type = "session.deleted"
)

// Session is a session in Consul's SessionEntry JSON shape.
type Session struct {
	ID            string
	Name          string
	Node          string
	LockDelay     int64 // nanoseconds, as Consul's JSON has it
	Behavior      string
	TTL           string
	NodeChecks    []string
	ServiceChecks []ServiceCheck
	CreateIndex   uint64
	ModifyIndex   uint64
	// Deadline is when a TTL session expires unless renewed, in Unix
	// nanoseconds decided by the proposer; 0 without a TTL. Herald's own
	// field; Consul's clients ignore it.
	Deadline int64 `json:",omitempty"`
}

// ServiceCheck names a service check a session depends on.
type ServiceCheck struct {
	ID        string
	Namespace string
}
