package agent

import (
	"context"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// StartOnlyShards makes the servers started afterwards start only the
// given shards, as a build from before the others did, until the returned
// function restores the list.
func StartOnlyShards(ids ...command.Shard) (restore func()) {
	old := shardsToStart
	shardsToStart = func() []command.Shard { return ids }
	return func() { shardsToStart = old }
}

// SetTokenReapEvery makes the agents started afterwards look for expired
// tokens every d, until the returned function restores the interval.
func SetTokenReapEvery(d time.Duration) (restore func()) {
	old := tokenReapEvery
	tokenReapEvery = d
	return func() { tokenReapEvery = old }
}

// Propose proposes a command on this server's log, for tests that need a
// state the API refuses to make (say, a token that expires in a second).
func (a *Agent) Propose(ctx context.Context, cmd command.Command) (command.Result, error) {
	return a.host.Propose(ctx, cmd)
}

// ExpiredTokens lists the expired tokens this agent's ACL state still holds.
func (a *Agent) ExpiredTokens() (out []*event.ACLToken) {
	a.acl.Read(false, func(v projections.ACLView) { out = v.ExpiredTokens() })
	return out
}
