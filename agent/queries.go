package agent

import (
	"context"

	"github.com/heraldhq/herald/agent/leader"
)

// startQueryReaper runs, on a server, the deletion of prepared queries
// whose session is gone (leader.QueryReaper); it acts where this server
// leads the catalog shard.
func (a *Agent) startQueryReaper(ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		r := leader.QueryReaper{Raft: a.host, Queries: a.catalog, Sessions: a.kv, Logger: a.log}
		r.Run(ctx)
	}()
}
