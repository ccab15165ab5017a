// Package clientproxy is the Raft of a client agent, which holds no
// replica. It finds the servers' NATS through the addresses it is given,
// sends writes and read barriers to the servers there (package rpc), and
// keeps projections of every shard on the agent: loaded from a server's
// snapshot of the shard, then kept current by the shard's event stream,
// and loaded again after a gap. A write returns once the agent's own
// projections have it (read your writes), so blocking queries on a client
// never reach the servers.
package clientproxy
