// Package leader holds a server's Raft-group upkeep: the loops that act
// only where this server leads a shard (the session reaper, autopilot,
// gossip health, the Connect CA's first root, the event publisher of a
// replicated stream) and the steps that form and repair the groups
// (bootstrap from gossip, the replica ID kept in the data dir, quorum
// recovery).
//
// Nothing here knows the agent. Each loop is a struct whose fields are
// what it needs: the few methods of log.Host it calls (see the interfaces
// in host.go), gossip membership, a projection or two, config values and
// a logger. Package agent fills them in and starts them.
package leader
