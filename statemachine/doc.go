// Package statemachine is Herald's Dragonboat on-disk state machine over
// Pebble: one instance per shard replica.
//
// The rules it lives by (Dragonboat's statemachine.IOnDiskStateMachine sets
// most of them):
//
//  1. Apply is deterministic. The only input is the committed entries; the
//     wall clock a command needs is the Time its proposer put in it.
//  2. The applied index is written in the same Pebble batch as the data it
//     covers, so after a crash Open returns an index that matches the data,
//     and Dragonboat re-applies whatever came after it.
//  3. Events are emitted only after the batch that caused them has been
//     committed to Pebble: a projection or subscriber never sees a change
//     that a restart could take back.
//  4. Every applied command is also kept in a history area (bounded by count
//     and age, older commands folded into a base image) so that `herald debug
//     replay` can rebuild the state as it was at any retained index.
//  5. Events are also written to an outbox area in the same batch; the NATS
//     publisher drains it, so no event is lost between a commit and a crash.
//  6. A committed entry that cannot be decoded stops the replica with an
//     error: silently skipping it would let replicas diverge.
//
// Snapshots stream the replicated areas (the data, not the history or
// outbox, which are local) and recover a new or lagging replica.
package statemachine
