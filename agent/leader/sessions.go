package leader

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// Session invalidation is choreographed across shards: sessions live in
// the kv shard, the health they depend on in the catalog shard. The server
// that leads the kv shard watches both projections and proposes a destroy
// on the kv shard when a session's TTL has run out, its node is gone, or
// one of its checks is critical. Deadlines are absolute times carried in
// the commands; a server that has just become leader gives every session a
// full TTL (twice the TTL, Consul's multiplier) before expiring it, as
// Consul's new leaders do.

// sessionSweep is how often the kv leader looks for sessions to invalidate.
const sessionSweep = 200 * time.Millisecond

// Sessions lists the sessions of the kv shard (projections.KV).
type Sessions interface {
	Sessions(keep func(*event.Session) bool, watch bool) ([]*event.Session, uint64, <-chan struct{})
}

// Nodes reads a node's catalog entry (projections.Catalog).
type Nodes interface {
	Node(name string, watch bool) (*projections.NodeInfo, uint64, <-chan struct{})
}

// SessionReaper destroys the sessions that must go, where this server
// leads the kv shard.
type SessionReaper struct {
	Raft     Proposer
	Sessions Sessions
	Catalog  Nodes
	Logger   *slog.Logger
}

// Run sweeps every sessionSweep until ctx ends.
func (r *SessionReaper) Run(ctx context.Context) {
	t := time.NewTicker(sessionSweep)
	defer t.Stop()
	var leaderSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !r.Raft.IsLeader(command.ShardKV) {
			leaderSince = time.Time{}
			continue
		}
		now := time.Now()
		if leaderSince.IsZero() {
			leaderSince = now
		}
		sessions, _, _ := r.Sessions.Sessions(nil, false)
		for _, s := range sessions {
			if why := r.invalid(s, now, leaderSince); why != "" {
				r.Logger.Info("invalidating session", "session", s.ID, "node", s.Node, "reason", why)
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := r.Raft.Propose(pctx, command.Command{Time: now.UnixNano(),
					Body: &command.SessionDestroyBody{ID: s.ID}})
				cancel()
				if err != nil {
					r.Logger.Warn("cannot invalidate session", "session", s.ID, "error", err)
				}
			}
		}
	}
}

// invalid says why a session must go, or "" if it may stay.
func (r *SessionReaper) invalid(s *event.Session, now, leaderSince time.Time) string {
	if s.Deadline > 0 {
		deadline := time.Unix(0, s.Deadline)
		if ttl, err := time.ParseDuration(s.TTL); err == nil {
			if grace := leaderSince.Add(2 * ttl); grace.After(deadline) {
				deadline = grace
			}
		}
		if now.After(deadline) {
			return "TTL expired"
		}
	}
	info, _, _ := r.Catalog.Node(s.Node, false)
	var checks []*event.Check
	if info != nil {
		checks = info.Checks
	}
	var fault *health.SessionError
	if err := health.CheckSession(s, info != nil, checks); errors.As(err, &fault) {
		switch fault.Err {
		case health.ErrSessionNode:
			return "node deregistered"
		case health.ErrSessionCheckMissing:
			return "check " + fault.CheckID + " deregistered"
		default:
			return "check " + fault.CheckID + " critical"
		}
	}
	return ""
}
