// Package watch is where Herald's changes leave the cluster: the NATS side of
// the event stream, and (later) Consul's blocking queries and watch handlers.
//
// The NATS side has three parts:
//
//   - StartServer runs nats-server in-process with JetStream, so a Herald
//     server needs no separate NATS deployment. With ACLs, a ClientAuth
//     (package natsauth) admits its clients (auth.go).
//   - Publisher takes the events a shard's state machine recorded (EventLog)
//     and publishes each of them exactly once, in index order, into one
//     JetStream stream per shard. Because JetStream publishes are ordinary
//     NATS messages, core NATS subscribers of the same subjects see them too.
//   - Subscribe follows a shard's stream from a given Raft index, in order,
//     and reports a gap instead of silently skipping events.
//
// Subjects are herald.<dc>.<shard>.<tokens>, where the tokens of a KV event
// are the key's segments escaped by KeyTokens. docs/events.md describes the
// wire format for people who consume the stream with other tools.
package watch
