// Package rpc carries Raft requests from agents that hold no replica
// (client agents) to the servers, over NATS request/reply on the servers'
// embedded NATS cluster.
//
// Subjects, per datacenter and shard:
//
//	herald.<dc>.rpc.<shard>.propose   body: an encoded command; reply: Reply
//	herald.<dc>.rpc.<shard>.read      body: empty; reply: Reply with Index
//	herald.<dc>.rpc.<shard>.leader    body: empty; reply: Reply with Leader
//	herald.<dc>.rpc.<shard>.snapshot  body: empty; replies: the snapshot in
//	                                  chunks, paced by the requester's
//	                                  acknowledgements (see snapshotChunk)
//
// The servers subscribe in one queue group, so each request is handled by
// one server, which proposes through its own Raft host (Dragonboat forwards
// a proposal to the leader). A server decodes every command before
// proposing it: a committed entry that cannot be decoded would stop every
// replica, so nothing undecodable may reach the log.
package rpc
