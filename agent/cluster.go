package agent

import (
	"context"

	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/log/command"
)

// A server's part in its Raft groups is package leader's; what is here
// hands it the agent's host, gossip and configuration.

// startClustered starts the shards of a server that is not alone: at once
// when it restarts on its Raft state or joins a running cluster, and once
// its peers are there when it bootstraps a new one.
func (a *Agent) startClustered(ctx context.Context) error {
	if a.host.HasReplica(command.ShardCatalog) || a.cfg.BootstrapExpect <= 1 {
		return a.startShards(nil)
	}
	if a.gossip == nil {
		return a.startShards(nil)
	}
	b := leader.Bootstrap{Gossip: a.gossip, Datacenter: a.cfg.Datacenter, NodeID: a.nodeID,
		Expect: a.cfg.BootstrapExpect, StartShards: a.startShards, Logger: a.log}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		b.Run(ctx)
	}()
	return nil
}

// autopilot is this server's autopilot (it runs on every server).
func (a *Agent) autopilot() *leader.Autopilot {
	return &leader.Autopilot{Raft: a.host, Gossip: a.gossip, Datacenter: a.cfg.Datacenter,
		Config: a.cfg.Autopilot, Stored: a.shards[command.ShardCatalog].AutopilotConfig, StartOver: a.startOver, Logger: a.log}
}

// startOver marks the data dir so that the next start clears the Raft state
// and joins as a new voter, and asks the process to restart.
func (a *Agent) startOver(reason string) {
	if a.leaving.Load() {
		return // leaving already: the next start, whenever it is, rejoins
	}
	a.restartOnce.Do(func() {
		a.log.Error("restarting to rejoin the cluster as a new voter", "reason", reason)
		if err := leader.MarkRejoin(a.dataDir, reason); err != nil {
			a.log.Error("cannot mark the data dir for a rejoin", "error", err)
			return
		}
		close(a.restart)
	})
}

// RestartRequested is closed when the agent must be restarted (its process
// shuts it down and starts again): this server was removed from the
// cluster and rejoins under a new replica ID.
func (a *Agent) RestartRequested() <-chan struct{} { return a.restart }
