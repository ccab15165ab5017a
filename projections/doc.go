// Package projections holds Herald's in-memory read models. Each is built
// from a shard's state once (at start, or after a snapshot replaced the
// state) and afterwards only from the events the state machine emits, so
// reads never touch Pebble or Raft.
//
// Projections also own the wake-ups of blocking queries. A reader gets, with
// each answer, a channel that is closed when that answer may have changed:
// a single key's channel closes only when that key changes, a prefix's when
// any key under it does. Waiters on unrelated data are never woken.
//
// Entries handed out by a projection are shared and must not be modified.
package projections
