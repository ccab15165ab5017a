// Package log is Herald's replicated command log: a Dragonboat NodeHost
// hosting one Raft group per shard, through which every change is proposed,
// and the linearizable read barrier (ReadIndex) that consistent reads wait on.
//
// The commands themselves are defined in the command subpackage. This package
// knows nothing of what a shard's state machine does with them: the caller
// passes the factory when it starts a shard.
package log
