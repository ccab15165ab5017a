package leader

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	hlog "github.com/heraldhq/herald/log"
)

// A server's replica ID names it in every shard. A new server's is derived
// from its node ID, so that servers bootstrapping together compute the same
// voters without asking. Raft never takes back an ID it removed, so a
// server that was removed (it left, was cleaned up as dead, or was left
// out by a quorum recovery) starts over: its Raft state is cleared and it
// takes a new, random ID with which the leader adds it again. The ID in use
// is kept in the data dir beside the Raft state it belongs to.

const replicaIDFile = "replica-id"

// LoadReplicaID returns the ID saved in dataDir, or saves and returns the
// one derived from the node ID.
func LoadReplicaID(dataDir, nodeID string) (uint64, error) {
	path := filepath.Join(dataDir, replicaIDFile)
	if b, err := os.ReadFile(path); err == nil {
		id, err := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 64)
		if err != nil || id == 0 {
			return 0, fmt.Errorf("%s: not a replica ID: %q", path, b)
		}
		return id, nil
	} else if !os.IsNotExist(err) {
		return 0, err
	}
	id := hlog.ReplicaIDFor(nodeID)
	return id, writeReplicaID(path, id)
}

func writeReplicaID(path string, id uint64) error {
	return os.WriteFile(path, []byte(strconv.FormatUint(id, 16)+"\n"), 0o600)
}

// ResetRaftState clears a stopped server's Raft state and shard data and
// gives it a new replica ID: at its next start it joins the cluster as a
// new voter and receives the shards' state from the others.
func ResetRaftState(dataDir string) error {
	for _, sub := range []string{"raft", "state"} {
		if err := os.RemoveAll(filepath.Join(dataDir, sub)); err != nil {
			return err
		}
	}
	var b [8]byte
	var id uint64
	for id == 0 {
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		id, _ = strconv.ParseUint(hex.EncodeToString(b[:]), 16, 64)
	}
	return writeReplicaID(filepath.Join(dataDir, replicaIDFile), id)
}

// MarkRejoin asks the next start of the server whose data dir this is to
// clear its Raft state first (see RejoinMarker), and says why.
func MarkRejoin(dataDir, reason string) error {
	return os.WriteFile(filepath.Join(dataDir, RejoinMarker), []byte(reason+"\n"), 0o600)
}
