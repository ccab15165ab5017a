package leader

import (
	"context"

	"github.com/heraldhq/herald/agent/membership"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// Leading says whether this server leads a shard now (log.Host.IsLeader).
type Leading interface {
	IsLeader(shard command.Shard) bool
}

// Proposer is Leading plus writing a command to its type's shard.
type Proposer interface {
	Leading
	Propose(ctx context.Context, cmd command.Command) (command.Result, error)
}

// Voters is what changing a shard's voters takes of log.Host.
type Voters interface {
	Leading
	// ReplicaID is this server's replica ID, the same in every shard.
	ReplicaID() uint64
	Membership(ctx context.Context, shard command.Shard) (hlog.Members, error)
	AddVoter(ctx context.Context, shard command.Shard, replicaID uint64, raftAddress string) error
	RemoveReplica(ctx context.Context, shard command.Shard, replicaID uint64) error
}

// Gossip is what the loops read of gossip membership (and, for the tags
// the servers use to talk to each other, write).
type Gossip interface {
	Members() []membership.Member
	SetTags(extra map[string]string) error
}
