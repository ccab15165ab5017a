// Package agent wires a Herald agent together: the command log and its
// shards, the state machines and the projections they feed, the event
// publisher and the embedded NATS server, and the HTTP API. It is the only
// package besides cmd that knows every other one.
package agent
