package command

import (
	"errors"
	"fmt"
)

// Type identifies a command's body. ONLY ADD TO THE END: a type number, once
// released, keeps its meaning forever, because committed logs hold it.
type Type uint16

const (
	typeInvalid Type = iota // never encoded; catches zero values
	// TypeKV is a single key/value operation (KVBody).
	TypeKV
	// TypeKVTxn is an all-or-nothing list of key/value operations (KVTxnBody).
	TypeKVTxn
	// TypeCatalogRegister registers a node, a service and checks.
	TypeCatalogRegister
	// TypeCatalogDeregister removes a check, a service or a node.
	TypeCatalogDeregister
	// TypeCheckStatus records a check's status transition.
	TypeCheckStatus
	// TypeSessionCreate, TypeSessionDestroy and TypeSessionRenew manage
	// sessions in the kv shard, where the locks they hold are judged.
	TypeSessionCreate
	TypeSessionDestroy
	TypeSessionRenew
	// TypeRestore replaces a shard's state with a snapshot's.
	TypeRestore
)

// Flags in the envelope.
const (
	// FlagIgnoreUnknown lets a replica that does not know the command's type
	// skip it instead of stopping. Set it only on commands whose loss cannot
	// make replicas disagree (hints, caches), never on state changes.
	FlagIgnoreUnknown byte = 1 << 0
)

// Version is the newest envelope version this build writes; Decode accepts
// versions up to it. Version 1 had no request ID and no deadline; version 2
// added them; version 3 added the origin. Encode writes the oldest version
// that holds the command: 3 only for a command with an origin, so that a
// proposer can keep writing what servers of an older build read until all
// are upgraded (Requests.SetRecordOrigin).
const Version byte = 3

// VersionOrigin is the first envelope version with an origin: a proposer
// records origins once every server decodes it.
const VersionOrigin byte = 3

// Errors a decoder reports. A committed entry that fails to decode with
// anything but ErrUnknownType on an ignorable command must stop the replica.
var (
	ErrTruncated      = errors.New("command: truncated input")
	ErrVersion        = errors.New("command: unsupported envelope version")
	ErrUnknownType    = errors.New("command: unknown command type")
	ErrTrailingBytes  = errors.New("command: trailing bytes after body")
	ErrInvalidCommand = errors.New("command: invalid field value")
)

// Body is the type-specific part of a command.
type Body interface {
	Type() Type
	encode(e *encoder)
	decode(d *decoder) error
}

// Command is one entry of a shard's log.
type Command struct {
	// Flags are envelope flags such as FlagIgnoreUnknown.
	Flags byte
	// Time is the proposer's wall clock in Unix nanoseconds. Apply uses it
	// wherever Consul would read the clock, so replicas agree.
	Time int64
	// ID names the request: every attempt to get this command committed
	// (a retry after a leader died, a client agent's resend) carries the
	// same ID, and the state machine applies an ID once. Zero (commands of
	// version 1) is never deduplicated.
	ID RequestID
	// Deadline is when the proposer stops waiting for an answer, in Unix
	// nanoseconds of the proposer's clock: a state machine refuses the
	// command if it is applied later than that (as told by the Time of
	// the newest command applied before it), so a write whose proposer
	// answered with an error never takes effect afterwards. Zero: none.
	Deadline int64
	// Origin is who caused the command (origin.go); zero in commands of
	// versions 1 and 2, and while the proposer is told not to record it.
	Origin Origin
	Body   Body
}

// Type is the type of the command's body.
func (c Command) Type() Type {
	if c.Body == nil {
		return typeInvalid
	}
	return c.Body.Type()
}

// typeInfo is what each command type is: its name, the shard whose log
// holds it, and how to make an empty body to decode into.
type typeInfo struct {
	name  string
	shard Shard
	new   func() Body
}

// types is the one dispatch table of command types.
var types = map[Type]typeInfo{
	TypeKV:                {"kv", ShardKV, func() Body { return new(KVBody) }},
	TypeKVTxn:             {"kv-txn", ShardKV, func() Body { return new(KVTxnBody) }},
	TypeCatalogRegister:   {"register", ShardCatalog, func() Body { return new(CatalogRegisterBody) }},
	TypeCatalogDeregister: {"deregister", ShardCatalog, func() Body { return new(CatalogDeregisterBody) }},
	TypeCheckStatus:       {"check-status", ShardCatalog, func() Body { return new(CheckStatusBody) }},
	TypeSessionCreate:     {"session-create", ShardKV, func() Body { return new(SessionCreateBody) }},
	TypeSessionDestroy:    {"session-destroy", ShardKV, func() Body { return new(SessionDestroyBody) }},
	TypeSessionRenew:      {"session-renew", ShardKV, func() Body { return new(SessionRenewBody) }},
	// A restore goes to every shard, each with its own snapshot: its
	// proposer names the shard.
	TypeRestore:    {"restore", ShardAny, func() Body { return new(RestoreBody) }},
	TypeCatalogTxn: {"catalog-txn", ShardCatalog, func() Body { return new(CatalogTxnBody) }},

	TypeQuerySet:    {"query-set", ShardCatalog, func() Body { return new(QuerySetBody) }},
	TypeQueryDelete: {"query-delete", ShardCatalog, func() Body { return new(QueryDeleteBody) }},
	// The operator's commands (operator.go).
	TypeAutopilotSet: {"autopilot-set", ShardCatalog, func() Body { return new(AutopilotSetBody) }},
	TypeConnectCASet: {"connect-ca-set", ShardCatalog, func() Body { return new(ConnectCASetBody) }},
	// The ACL commands (acl.go).
	TypeACLTokenSet:     {"acl-token-set", ShardSystem, func() Body { return new(ACLTokenSetBody) }},
	TypeACLTokenDelete:  {"acl-token-delete", ShardSystem, func() Body { return new(ACLTokenDeleteBody) }},
	TypeACLPolicySet:    {"acl-policy-set", ShardSystem, func() Body { return new(ACLPolicySetBody) }},
	TypeACLPolicyDelete: {"acl-policy-delete", ShardSystem, func() Body { return new(ACLPolicyDeleteBody) }},
	TypeACLRoleSet:      {"acl-role-set", ShardSystem, func() Body { return new(ACLRoleSetBody) }},
	TypeACLRoleDelete:   {"acl-role-delete", ShardSystem, func() Body { return new(ACLRoleDeleteBody) }},
	TypeACLBootstrap:    {"acl-bootstrap", ShardSystem, func() Body { return new(ACLBootstrapBody) }},
	TypeACLInit:         {"acl-init", ShardSystem, func() Body { return new(ACLInitBody) }},
	// ACL replication (aclrep.go).
	TypeACLReplicate: {"acl-replicate", ShardSystem, func() Body { return new(ACLReplicateBody) }},
	// The service mesh's config entries (configentry.go).
	TypeConfigEntrySet:    {"config-entry-set", ShardCatalog, func() Body { return new(ConfigEntrySetBody) }},
	TypeConfigEntryDelete: {"config-entry-delete", ShardCatalog, func() Body { return new(ConfigEntryDeleteBody) }},
	// KV replication from another datacenter (kvrep.go).
	TypeKVReplicate: {"kv-replicate", ShardKV, func() Body { return new(KVReplicateBody) }},
	// Config entry replication from the primary datacenter (cfgrep.go).
	TypeConfigReplicate: {"config-replicate", ShardCatalog, func() Body { return new(ConfigReplicateBody) }},
	// The chunked restore (restore.go): like TypeRestore, every shard.
	TypeRestoreBegin:  {"restore-begin", ShardAny, func() Body { return new(RestoreBeginBody) }},
	TypeRestoreChunk:  {"restore-chunk", ShardAny, func() Body { return new(RestoreChunkBody) }},
	TypeRestoreCommit: {"restore-commit", ShardAny, func() Body { return new(RestoreCommitBody) }},
	TypeRestoreAbort:  {"restore-abort", ShardAny, func() Body { return new(RestoreAbortBody) }},
}

// String names a type for logs and `herald debug log`.
func (t Type) String() string {
	if info, ok := types[t]; ok {
		return info.name
	}
	return fmt.Sprintf("type-%d", uint16(t))
}

// Shard is the shard whose log holds commands of this type; ShardAny for a
// type that every shard takes (the proposer chooses).
func (t Type) Shard() Shard { return types[t].shard }

// Encode returns the binary form of c.
//
// The envelope, all integers being unsigned varints except where noted:
//
//	+---------+---------+---------+----------------------+
//	| version | flags   | type    | time (zigzag varint) |
//	| 1 byte  | 1 byte  | uvarint |                      |
//	+---------+---------+---------+----------------------+
//	| proposer | seq     | deadline (zigzag varint) | (version 2 and 3)
//	| uvarint  | uvarint |                          |
//	+----------+---------+--------------------------+
//	| via    | node   | remote address | accessor | (version 3)
//	| string | string | string         | string   |
//	+--------+--------+----------------+----------+
//	| body...
//
// A version 1 envelope has no proposer, seq or deadline: the body follows
// the time; a version 2 envelope has no origin: the body follows the
// deadline.
//
// The body's layout is its type's; strings and byte slices are a uvarint
// length followed by the bytes.
func Encode(c Command) ([]byte, error) {
	if c.Body == nil {
		return nil, fmt.Errorf("%w: no body", ErrInvalidCommand)
	}
	version := VersionOrigin - 1
	if !c.Origin.IsZero() {
		version = VersionOrigin
	}
	e := &encoder{buf: make([]byte, 0, 64)}
	e.buf = append(e.buf, version, c.Flags)
	e.uvarint(uint64(c.Body.Type()))
	e.varint(c.Time)
	e.uvarint(c.ID.Proposer)
	e.uvarint(c.ID.Seq)
	e.varint(c.Deadline)
	if version >= VersionOrigin {
		e.string(c.Origin.Via)
		e.string(c.Origin.Node)
		e.string(c.Origin.RemoteAddr)
		e.string(c.Origin.Accessor)
	}
	c.Body.encode(e)
	return e.buf, nil
}

// Decode parses an encoded command. An unknown type yields ErrUnknownType
// together with the envelope (Flags, Time), so the caller can honour
// FlagIgnoreUnknown.
func Decode(b []byte) (Command, error) {
	d := &decoder{buf: b}
	var c Command
	version := d.byte()
	c.Flags = d.byte()
	t := Type(d.uvarint16())
	c.Time = d.varint()
	if d.err != nil {
		return c, d.err
	}
	if version == 0 || version > Version {
		return c, fmt.Errorf("%w: %d", ErrVersion, version)
	}
	if version >= 2 {
		c.ID.Proposer = d.uvarint()
		c.ID.Seq = d.uvarint()
		c.Deadline = d.varint()
		if d.err != nil {
			return c, d.err
		}
	}
	if version >= VersionOrigin {
		c.Origin = Origin{Via: d.string(), Node: d.string(), RemoteAddr: d.string(), Accessor: d.string()}
		if d.err != nil {
			return c, d.err
		}
		if c.Origin.IsZero() {
			// Encode writes version 3 only for an origin: accepting
			// an empty one would give the same command two encodings.
			return c, fmt.Errorf("%w: empty origin in a version %d envelope", ErrInvalidCommand, version)
		}
	}
	info, ok := types[t]
	if !ok {
		return c, fmt.Errorf("%w: %d", ErrUnknownType, t)
	}
	body := info.new()
	if err := body.decode(d); err != nil {
		return c, err
	}
	if d.err != nil {
		return c, d.err
	}
	if len(d.buf) != 0 {
		return c, ErrTrailingBytes
	}
	c.Body = body
	return c, nil
}
