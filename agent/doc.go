// Package agent wires a Herald agent together: the command log and its
// shards, the state machines and the projections they feed, the event
// publisher and the embedded NATS server, gossip, DNS and the HTTP API. It
// is the only package besides cmd that knows every other one.
//
// What runs beside the wiring lives in packages of its own, which know
// nothing of the agent and are handed what they use: the leader-side loops
// and the forming and repairing of the Raft groups (leader), a client
// agent's Raft through the servers (clientproxy), the requests between
// them (rpc), and the kinds of failure the agent reports to httpapi
// (agenterr).
package agent
