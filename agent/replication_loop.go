package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/log/command"
)

// The replications of a secondary datacenter (ACLs, config entries) run
// the same loop on the server that leads the shard they write: a round
// reads the primary through the gateways and proposes what differs.
const (
	// replicationRetry is the wait after a first failed round, doubling
	// up to replicationBackoff.
	replicationRetry   = 250 * time.Millisecond
	replicationBackoff = 30 * time.Second
	// replicationPace is the least time between two rounds, should the
	// primary answer every blocking read at once.
	replicationPace = 50 * time.Millisecond
	// replicationLeaderCheck is how often a server that does not lead
	// the shard looks again.
	replicationLeaderCheck = time.Second
)

// replication is one kind of replication, for runReplication.
type replication struct {
	// shard is the shard the rounds write, whose leader runs them.
	shard command.Shard
	// round reads the primary and proposes what differs.
	round func(ctx context.Context) error
	// recordError keeps a failed round in the replicated status.
	recordError func(ctx context.Context, err error)
	log         *slog.Logger
}

// startReplication runs r on a goroutine of the agent's (runReplication).
func (a *Agent) startReplication(ctx context.Context, r replication) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.runReplication(ctx, r)
	}()
}

// runReplication runs r's rounds while this server leads r's shard, until
// ctx ends. A server that becomes leader first passes a read barrier, so
// that it has applied every round a former leader committed and resumes
// from the last one's status rather than an older one's. A failed round
// is recorded and retried after replicationRetry, doubling up to
// replicationBackoff.
func (a *Agent) runReplication(ctx context.Context, r replication) {
	retry := replicationRetry
	barrier := true
	for ctx.Err() == nil {
		if !a.host.IsLeader(r.shard) {
			retry, barrier = replicationRetry, true
			if !sleepCtx(ctx, replicationLeaderCheck) {
				return
			}
			continue
		}
		start := time.Now()
		var err error
		if barrier {
			if err = a.host.ReadIndex(ctx, r.shard); err == nil {
				barrier = false
			}
		}
		if err == nil {
			err = r.round(ctx)
		}
		if err == nil {
			retry = replicationRetry
			sleepCtx(ctx, replicationPace-time.Since(start))
			continue
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("replication round failed", "error", err, "retry_in", retry)
		r.recordError(ctx, err)
		if !sleepCtx(ctx, retry) {
			return
		}
		retry = min(2*retry, replicationBackoff)
	}
}

// sleepCtx waits d, false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
