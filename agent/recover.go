package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/leader"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// Recovered describes what Recover did to one shard.
type Recovered = leader.Recovered

// Recover brings back a cluster that lost its quorum for good (see
// docs/clustering.md), from a stopped server's data dir and configuration:
// the server's replica of every shard becomes the state of a shard whose
// only voter is this server (leader.Recover). The servers left out must
// not start on their old Raft state: RecoverRejoin clears it.
func Recover(cfg *config.Config, logger *slog.Logger) ([]Recovered, error) {
	a, err := openStopped(cfg, logger)
	if err != nil {
		return nil, err
	}
	host, err := a.openRaft()
	if err != nil {
		return nil, fmt.Errorf("open the Raft state (is the agent still running?): %w", err)
	}
	replicas := map[command.Shard]leader.Replica{}
	for id, s := range a.shards {
		replicas[id] = s
	}
	return leader.Recover(leader.Recovery{
		Host:        host,
		Replicas:    replicas,
		DataDir:     a.dataDir,
		StartShards: func() error { return a.startShards(nil) },
		Import: func(dir string) error {
			return hlog.ImportSnapshot(a.raftConfig(host.ReplicaID()), dir)
		},
	})
}

// RecoverRejoin clears a stopped server's Raft state, so that its next
// start joins the recovered cluster as a new voter.
func RecoverRejoin(cfg *config.Config, logger *slog.Logger) error {
	a, err := openStopped(cfg, logger)
	if err != nil {
		return err
	}
	return leader.ResetRaftState(a.dataDir)
}

// openStopped prepares an agent over a stopped server's data dir, to work
// on its state offline.
func openStopped(cfg *config.Config, logger *slog.Logger) (*Agent, error) {
	if cfg.Dev || !cfg.Server {
		return nil, errors.New("recovery works on a server's data: give the server's configuration (-server, -data-dir, ...)")
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "node-id")); err != nil {
		return nil, fmt.Errorf("%s is not a server's data dir: %w", cfg.DataDir, err)
	}
	a := New(cfg, logger)
	a.dataDir = cfg.DataDir
	id, err := a.loadNodeID()
	if err != nil {
		return nil, err
	}
	a.nodeID = id
	return a, nil
}
