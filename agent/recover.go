package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/heraldhq/herald/agent/config"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// Recovered describes what Recover did to one shard.
type Recovered struct {
	Shard string
	Index uint64 // the index of the state the shard resumes from
}

// Recover brings back a cluster that lost its quorum for good (see
// docs/clustering.md), from a stopped server's data dir and configuration:
// the server's replica of every shard becomes the state of a shard whose
// only voter is this server. Started again, it leads, and the other
// servers join it as new voters. The servers left out must not start on
// their old Raft state: RecoverRejoin clears it.
func Recover(cfg *config.Config, logger *slog.Logger) ([]Recovered, error) {
	a, err := openStopped(cfg, logger)
	if err != nil {
		return nil, err
	}
	host, err := a.openRaft()
	if err != nil {
		return nil, fmt.Errorf("open the Raft state (is the agent still running?): %w", err)
	}
	if !host.HasReplica(command.ShardCatalog) {
		host.Close()
		return nil, fmt.Errorf("%s holds no Raft state to recover from", cfg.DataDir)
	}
	exportDir, err := os.MkdirTemp(a.dataDir, "recover-")
	if err != nil {
		host.Close()
		return nil, err
	}
	defer os.RemoveAll(exportDir)

	var out []Recovered
	exported := map[command.Shard]string{}
	err = func() error {
		defer host.Close()
		if err := a.startShards(nil); err != nil {
			return err
		}
		for _, id := range command.Shards() {
			s := a.shards[id]
			select {
			case <-s.Opened():
			case <-time.After(time.Minute):
				return fmt.Errorf("shard %s did not open within a minute", id.String())
			}
			// The replica applies what it knows to be committed without a
			// leader; wait until that has settled before taking the state.
			for last := s.AppliedIndex(); ; {
				time.Sleep(300 * time.Millisecond) // the settling time is the point here
				if now := s.AppliedIndex(); now == last {
					break
				} else {
					last = now
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			dir, _, err := host.ExportSnapshot(ctx, id, filepath.Join(exportDir, id.String()))
			cancel()
			if err != nil {
				return err
			}
			exported[id] = dir
			out = append(out, Recovered{Shard: id.String(), Index: s.AppliedIndex()})
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	for _, id := range command.Shards() {
		if err := hlog.ImportSnapshot(a.raftConfig(host.ReplicaID()), exported[id]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RecoverRejoin clears a stopped server's Raft state, so that its next
// start joins the recovered cluster as a new voter.
func RecoverRejoin(cfg *config.Config, logger *slog.Logger) error {
	a, err := openStopped(cfg, logger)
	if err != nil {
		return err
	}
	return resetRaftState(a.dataDir)
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
