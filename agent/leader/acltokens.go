package leader

import (
	"context"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// tokenReapEvery is how often the system shard's leader looks for expired
// tokens. Reads hide an expired token from the moment it expires; deleting
// it is housekeeping, so a sweep need not be frequent.
const tokenReapEvery = 30 * time.Second

// TokenReaper deletes expired ACL tokens where this server leads the
// system shard, as Consul's leaders do: in the primary datacenter (or
// without one) every expired token; in a secondary only its local tokens,
// since the global ones are the primary's, and its deletions reach the
// secondary through replication.
type TokenReaper struct {
	Raft Proposer
	// Expired lists the tokens past their expiration time.
	Expired func() []*event.ACLToken
	// Secondary leaves global tokens alone.
	Secondary bool
	Logger    *slog.Logger
	// Every is the sweep interval; zero means tokenReapEvery.
	Every time.Duration
}

// Run sweeps until ctx ends.
func (r *TokenReaper) Run(ctx context.Context) {
	every := r.Every
	if every <= 0 {
		every = tokenReapEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.Raft.IsLeader(command.ShardSystem) {
			r.sweep(ctx)
		}
	}
}

func (r *TokenReaper) sweep(ctx context.Context) {
	for _, tok := range r.Expired() {
		if r.Secondary && !tok.Local {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := r.Raft.Propose(pctx, command.Command{Time: time.Now().UnixNano(),
			Body: &command.ACLTokenDeleteBody{AccessorID: tok.AccessorID}})
		cancel()
		if err != nil {
			r.Logger.Warn("cannot delete an expired token", "accessor", tok.AccessorID, "error", err)
			return
		}
		r.Logger.Info("deleted an expired token", "accessor", tok.AccessorID)
	}
}
