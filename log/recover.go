package log

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/tools"

	"github.com/heraldhq/herald/log/command"
)

// Recovering a shard that lost its quorum for good takes two steps, because
// Raft cannot elect a leader without a majority and nothing inside the
// shard can change that: a surviving replica exports its state as a
// snapshot (ExportSnapshot, on a running host), and with the host stopped
// the snapshot is imported back as the state of a new, one-voter
// membership (ImportSnapshot). Started again, the replica leads at once;
// other servers then join it as new voters. The replicas left out of the
// new membership are marked removed, so they can never come back under
// their old IDs.

// ExportSnapshot writes a snapshot of this server's replica of the shard
// into a new folder under dir and returns that folder and the snapshot's
// index. It needs no leader: the snapshot is of what this replica applied.
func (h *Host) ExportSnapshot(ctx context.Context, shard command.Shard, dir string) (string, uint64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, err
	}
	index, err := h.nh.SyncRequestSnapshot(ctx, uint64(shard), dragonboat.SnapshotOption{Exported: true, ExportPath: dir})
	if err != nil {
		return "", 0, fmt.Errorf("export a snapshot of shard %v: %w", shard, err)
	}
	// Dragonboat names the folder after the index, in its own format:
	// find the one folder it made rather than depend on the format.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, err
	}
	var found []string
	for _, e := range entries {
		if e.IsDir() {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	if len(found) != 1 {
		return "", 0, fmt.Errorf("export of shard %v: expected one snapshot folder in %s, found %d", shard, dir, len(found))
	}
	return found[0], index, nil
}

// ImportSnapshot makes the snapshot in dir (from ExportSnapshot) the state
// of this server's replica of its shard, with this server as the shard's
// only voter. The host must not be running: cfg is the configuration it
// runs with.
func ImportSnapshot(cfg Config, dir string) error {
	quietDragonboat()
	members := map[uint64]string{cfg.ReplicaID: cfg.RaftAddress}
	if err := tools.ImportSnapshot(nodeHostConfig(cfg), dir, members, cfg.ReplicaID); err != nil {
		return fmt.Errorf("import the snapshot in %s: %w", dir, err)
	}
	return nil
}
