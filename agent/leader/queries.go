package leader

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// A prepared query bound to a session goes when the session does, as in
// Consul. Consul deletes the queries in the same transaction as the
// session; in Herald sessions live in the kv shard and queries in the
// catalog shard, so the server that leads the catalog shard watches the
// sessions (kv projection) and proposes the delete of every query whose
// session is gone. A session must be missing for queryOrphanGrace first:
// a session just created through another server may not have reached
// this server's kv projection yet when a query naming it is written.

const queryOrphanGrace = 2 * time.Second

// Queries lists the prepared queries of the catalog shard
// (projections.Catalog).
type Queries interface {
	Queries(watch bool) ([]*event.PreparedQuery, uint64, <-chan struct{})
}

// SessionLookup finds a session of the kv shard by ID (projections.KV).
type SessionLookup interface {
	Session(id string) *event.Session
}

// QueryReaper deletes the prepared queries whose session is gone, where
// this server leads the catalog shard.
type QueryReaper struct {
	Raft     Proposer
	Queries  Queries
	Sessions SessionLookup
	Logger   *slog.Logger
}

// Run sweeps every sessionSweep until ctx ends.
func (r *QueryReaper) Run(ctx context.Context) {
	t := time.NewTicker(sessionSweep)
	defer t.Stop()
	missingSince := map[string]time.Time{} // query ID -> first seen without its session
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !r.Raft.IsLeader(command.ShardCatalog) {
			clear(missingSince)
			continue
		}
		now := time.Now()
		queries, _, _ := r.Queries.Queries(false)
		seen := make(map[string]bool, len(missingSince))
		for _, q := range queries {
			if q.Session == "" || r.Sessions.Session(q.Session) != nil {
				continue
			}
			key := strings.ToLower(q.ID)
			seen[key] = true
			since, ok := missingSince[key]
			if !ok {
				missingSince[key] = now
				continue
			}
			if now.Sub(since) < queryOrphanGrace {
				continue
			}
			r.Logger.Info("deleting prepared query: its session is gone", "query", q.ID, "session", q.Session)
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := r.Raft.Propose(pctx, command.Command{Time: now.UnixNano(), Body: &command.QueryDeleteBody{ID: q.ID}})
			cancel()
			if err != nil {
				r.Logger.Warn("cannot delete prepared query", "query", q.ID, "error", err)
			}
		}
		for key := range missingSince {
			if !seen[key] {
				delete(missingSince, key)
			}
		}
	}
}
