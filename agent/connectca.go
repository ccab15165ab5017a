package agent

import (
	"context"

	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/projections"
)

// The built-in Connect CA: its state arrives with the catalog shard (see
// catalogSink), the HTTP API serves it and signs leaf certificates from it,
// and where this server leads the catalog shard the leader creates the
// first root.

// startConnectCA runs the loop that creates the CA's first root where this
// server leads the catalog shard; a server with Connect disabled leaves it
// to the others, as Consul's does.
func (a *Agent) startConnectCA(ctx context.Context) {
	if !a.cfg.Connect.Enabled || a.host == nil {
		return
	}
	init := leader.ConnectCAInit{Raft: a.host, CA: a.connectCA, Provider: a.cfg.Connect.CAProvider,
		Config: a.cfg.Connect.CAConfig, Logger: a.log.With("component", "connect-ca")}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		init.Run(ctx)
	}()
}

// connectCAForHTTP is the CA the HTTP API serves: none when Connect is
// disabled, so that its endpoints answer as Consul's do then.
func (a *Agent) connectCAForHTTP() *projections.ConnectCA {
	if !a.cfg.Connect.Enabled {
		return nil
	}
	return a.connectCA
}
