package httpapi

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
)

// restoreChunkSize is about how many bytes of a shard's snapshot each
// RestoreChunk command carries: small enough for a Raft entry, large
// enough that a restore of a few GB is a few thousand entries. A variable
// only so that a test can cut a small snapshot in several chunks.
var restoreChunkSize = 2 << 20

// restoreStepTimeout bounds each command of a restore. A commit rewrites
// the whole shard on every replica before it is answered (seconds for
// hundreds of MB), far longer than the usual write is given.
const restoreStepTimeout = 5 * time.Minute

// maxSnapshotSideFile bounds the archive's small files (meta.json,
// SHA256SUMS), which are read whole.
const maxSnapshotSideFile = 1 << 20

// walkSnapshot reads a snapshot archive as it streams in: each shard's
// stream (a file named <shard>.snap) is handed to shard as it is read, and
// the other files are kept; every file's checksum is taken on the way and
// checked against SHA256SUMS at the end. So a corrupt archive is known
// only after shard saw its streams: the caller must be able to undo what
// it did with them. Errors of the archive are 400s; shard's are returned
// as they are.
func walkSnapshot(r io.Reader, shard func(name string, r io.Reader) error) (SnapshotMeta, error) {
	var meta SnapshotMeta
	gz, err := gzip.NewReader(r)
	if err != nil {
		return meta, badRequest("not a snapshot archive: %v", err)
	}
	sums := map[string]string{}
	side := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return meta, badRequest("not a snapshot archive: %v", err)
		}
		hash := sha256.New()
		body := io.TeeReader(tr, hash)
		if strings.HasSuffix(h.Name, ".snap") {
			if err := shard(h.Name, body); err != nil {
				return meta, err
			}
			if _, err := io.Copy(io.Discard, body); err != nil {
				return meta, badRequest("not a snapshot archive: %v", err)
			}
		} else {
			b, err := io.ReadAll(io.LimitReader(body, maxSnapshotSideFile+1))
			if err != nil {
				return meta, badRequest("not a snapshot archive: %v", err)
			}
			if len(b) > maxSnapshotSideFile {
				return meta, badRequest("snapshot archive's %s is over %d bytes", h.Name, maxSnapshotSideFile)
			}
			side[h.Name] = b
		}
		sums[h.Name] = hex.EncodeToString(hash.Sum(nil))
	}
	list, ok := side["SHA256SUMS"]
	if !ok {
		return meta, badRequest("snapshot archive has no SHA256SUMS")
	}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		got, present := sums[name]
		if !ok || !present || got != sum {
			return meta, badRequest("snapshot archive is corrupt: checksum of %q does not match", name)
		}
	}
	if err := json.Unmarshal(side["meta.json"], &meta); err != nil {
		return meta, badRequest("snapshot archive has no valid meta.json: %v", err)
	}
	return meta, nil
}

// snapshotRestore serves PUT /v1/snapshot: each shard's state is replaced
// by the archive's, through its Raft log, keeping the archive's indexes.
// The archive streams through: each shard's records are staged on every
// replica in chunks (RestoreBegin, RestoreChunk) as they are read, and
// swapped in (RestoreCommit) only once the whole archive has proved
// sound; a corrupt or incomplete one is dropped (RestoreAbort) and
// changes nothing.
func (s *Server) snapshotRestore(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	restoreID := event.NewUUID()
	defer statemachine.LowGCHeadroom()()
	propose := func(ctx context.Context, shard command.Shard, body command.Body) error {
		ctx, cancel := context.WithTimeout(ctx, restoreStepTimeout)
		defer cancel()
		res, err := s.cfg.Raft.ProposeTo(ctx, shard, command.Command{Time: s.cfg.Now().UnixNano(), Body: body})
		if err != nil {
			return err
		}
		if !res.Succeeded {
			return badRequest("restore of shard %s refused: %s", shard, res.Refusal)
		}
		return nil
	}
	type stagedShard struct{ chunks, index uint64 }
	staged := map[command.Shard]*stagedShard{}
	_, err := walkSnapshot(r.Body, func(name string, data io.Reader) error {
		shard, ok := shardNamed(strings.TrimSuffix(name, ".snap"))
		if !ok {
			// Not a shard of this build: checked against SHA256SUMS, and
			// otherwise left alone.
			return nil
		}
		if staged[shard] != nil {
			return badRequest("snapshot archive holds %s twice", name)
		}
		st := &stagedShard{}
		staged[shard] = st
		if err := propose(r.Context(), shard, &command.RestoreBeginBody{ID: restoreID}); err != nil {
			return err
		}
		var proposeErr error
		index, err := statemachine.SplitSnapshot(data, restoreChunkSize, func(records []byte) error {
			proposeErr = propose(r.Context(), shard, &command.RestoreChunkBody{ID: restoreID, Seq: st.chunks, Records: records})
			st.chunks++
			return proposeErr
		})
		if err != nil && proposeErr == nil {
			return badRequest("snapshot of shard %s: %v", shard, err)
		}
		st.index = index
		return err
	})
	if err == nil {
		for _, id := range command.Shards() {
			// A snapshot saved before the system shard existed: the ACL
			// state stays as it is.
			if staged[id] == nil && id != command.ShardSystem {
				err = badRequest("snapshot archive lacks shard %s", id.String())
				break
			}
		}
	}
	if err != nil {
		// Drop what was staged; a later restore would drop it too.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for shard := range staged {
			propose(ctx, shard, &command.RestoreAbortBody{ID: restoreID})
		}
		return err
	}
	for _, id := range command.Shards() {
		if st := staged[id]; st != nil {
			if err := propose(r.Context(), id, &command.RestoreCommitBody{ID: restoreID, Chunks: st.chunks, Index: st.index}); err != nil {
				return err
			}
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// shardNamed is the shard whose String is name.
func shardNamed(name string) (command.Shard, bool) {
	for _, id := range command.Shards() {
		if id.String() == name {
			return id, true
		}
	}
	return 0, false
}
