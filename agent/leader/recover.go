package leader

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/heraldhq/herald/log/command"
)

// Recovered describes what Recover did to one shard.
type Recovered struct {
	Shard string
	Index uint64 // the index of the state the shard resumes from
}

// RecoverHost is what Recover takes of a stopped server's Raft host,
// opened again for the recovery (log.Host).
type RecoverHost interface {
	HasReplica(shard command.Shard) bool
	ExportSnapshot(ctx context.Context, shard command.Shard, dir string) (string, uint64, error)
	Close()
}

// Replica is one shard's state machine, as Recover watches it settle.
type Replica interface {
	Opened() <-chan struct{}
	AppliedIndex() uint64
}

// Recovery is what Recover works on: a stopped server's Raft host and
// replicas, opened but with the shards not started.
type Recovery struct {
	Host     RecoverHost
	Replicas map[command.Shard]Replica
	// DataDir is the server's data dir; Recover works in a folder of its
	// own under it, removed when it is done.
	DataDir string
	// StartShards starts the server's replicas on their Raft state.
	StartShards func() error
	// Import makes an exported snapshot the state of a shard whose only
	// voter is this server (log.ImportSnapshot), with the host closed.
	Import func(dir string) error
}

// Recover brings back a cluster that lost its quorum for good (see
// docs/clustering.md): the server's replica of every shard becomes the
// state of a shard whose only voter is this server. Started again, it
// leads, and the other servers join it as new voters. The servers left out
// must not start on their old Raft state: ResetRaftState clears it. Recover
// closes the host.
func Recover(r Recovery) ([]Recovered, error) {
	if !r.Host.HasReplica(command.ShardCatalog) {
		r.Host.Close()
		return nil, fmt.Errorf("%s holds no Raft state to recover from", r.DataDir)
	}
	exportDir, err := os.MkdirTemp(r.DataDir, "recover-")
	if err != nil {
		r.Host.Close()
		return nil, err
	}
	defer os.RemoveAll(exportDir)

	var out []Recovered
	exported := map[command.Shard]string{}
	err = func() error {
		defer r.Host.Close()
		if err := r.StartShards(); err != nil {
			return err
		}
		for _, id := range command.Shards() {
			s := r.Replicas[id]
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
			dir, _, err := r.Host.ExportSnapshot(ctx, id, filepath.Join(exportDir, id.String()))
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
		if err := r.Import(exported[id]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
