// Package event defines the change events that the state machine emits after
// a Raft entry is applied, and the records they carry.
//
// Events are named in the past tense, carry the shard and Raft index that
// caused them, and are the only input of the in-memory projections and of the
// NATS event stream. The package is a leaf: it knows no storage, transport or
// consensus code, so every layer can depend on it.
package event
