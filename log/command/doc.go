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
// Each command also records its Origin (origin.go): how it came about, the
// agent where the request entered, the HTTP client's address and the
// AccessorID of the request's token, never its secret. Requests.Stamp fills
// it from the context the command is proposed under, once, on the agent
// that first handles the request.
//
// A body type that holds a secret (a token's SecretID, a private key)
// implements Redactor, returning a copy with the secret replaced by
// RedactedText; whatever shows bodies to people (`herald debug log`) prints
// them through Printable and so never shows the secret. A new body type
// with a secret must implement it.
//
// The package is a leaf: it knows nothing of Raft, storage or transports.
package command
