// Package command defines the typed, versioned commands that make up Herald's
// replicated log, and their compact binary encoding.
//
// Every change to Herald's state is a Command proposed to one shard's Raft
// log. Command types are numbered, and the numbers are append-only: a type is
// never renumbered or reused, so a log written by any past version decodes
// the same way forever. Anything non-deterministic (the wall clock, TTL
// deadlines, generated IDs) is decided by the proposer and carried inside the
// command, so that every replica applies the same bytes to the same result.
//
// The package is a leaf: it knows nothing of Raft, storage or transports.
package command
