package httpapi

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/heraldhq/herald/log/command"
)

// Snapshotter exports a shard's state as a snapshot stream.
type Snapshotter interface {
	Export(shardID command.Shard, w io.Writer) (index uint64, err error)
}

// SnapshotMeta is meta.json in a snapshot archive.
type SnapshotMeta struct {
	ID      string
	Version int
	// Index is the highest shard index in the archive; Indexes has each.
	Index   uint64
	Indexes map[string]uint64
	Time    time.Time
}

// maxSnapshotSize bounds a restore's body: a shard's whole state travels
// in one Raft entry.
const maxSnapshotSize = 60 << 20

func (s *Server) snapshotEndpoint(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPut {
		return s.snapshotRestore(w, r)
	}
	return s.snapshotSave(w, r)
}

// snapshotSave serves GET /v1/snapshot: a gzipped tar of meta.json, one
// stream per shard and SHA256SUMS, each shard read after a Raft read
// barrier so that it holds every write acknowledged before the request.
func (s *Server) snapshotSave(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	meta := SnapshotMeta{Version: 1, Indexes: map[string]uint64{}, Time: s.cfg.Now().UTC()}
	files := map[string][]byte{}
	for _, id := range command.Shards() {
		if err := s.cfg.Raft.ReadIndex(r.Context(), id); err != nil {
			return err
		}
		var buf bytes.Buffer
		index, err := s.cfg.Snapshots.Export(id, &buf)
		if err != nil {
			return err
		}
		name := id.String()
		files[name+".snap"] = buf.Bytes()
		meta.Indexes[name] = index
		meta.Index = max(meta.Index, index)
	}
	meta.ID = fmt.Sprintf("%d-%d", meta.Index, meta.Time.UnixMilli())
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	files["meta.json"] = metaJSON
	var sums strings.Builder
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	files["SHA256SUMS"] = []byte(sums.String())
	names = append(names, "SHA256SUMS")

	w.Header().Set("Content-Type", "application/x-gzip")
	s.setMeta(w, q, command.ShardCatalog, meta.Index)
	w.WriteHeader(http.StatusOK)
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(files[n])), ModTime: meta.Time}); err != nil {
			return err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// ReadSnapshot reads and verifies a snapshot archive.
func ReadSnapshot(r io.Reader) (SnapshotMeta, map[string][]byte, error) {
	var meta SnapshotMeta
	gz, err := gzip.NewReader(r)
	if err != nil {
		return meta, nil, fmt.Errorf("not a snapshot archive: %v", err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	total := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return meta, nil, fmt.Errorf("not a snapshot archive: %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxSnapshotSize+1))
		if err != nil {
			return meta, nil, err
		}
		if total += len(b); total > maxSnapshotSize*4 {
			return meta, nil, fmt.Errorf("snapshot archive too large")
		}
		files[h.Name] = b
	}
	sums, ok := files["SHA256SUMS"]
	if !ok {
		return meta, nil, fmt.Errorf("snapshot archive has no SHA256SUMS")
	}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		data, present := files[name]
		got := sha256.Sum256(data)
		if !ok || !present || hex.EncodeToString(got[:]) != sum {
			return meta, nil, fmt.Errorf("snapshot archive is corrupt: checksum of %q does not match", name)
		}
	}
	if err := json.Unmarshal(files["meta.json"], &meta); err != nil {
		return meta, nil, fmt.Errorf("snapshot archive has no valid meta.json: %v", err)
	}
	return meta, files, nil
}

// snapshotRestore serves PUT /v1/snapshot: each shard's state is replaced
// by the archive's, through its Raft log, keeping the archive's indexes.
func (s *Server) snapshotRestore(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	_, files, err := ReadSnapshot(io.LimitReader(r.Body, maxSnapshotSize*4))
	if err != nil {
		return badRequest("%v", err)
	}
	for _, id := range command.Shards() {
		if _, ok := files[id.String()+".snap"]; !ok && id != command.ShardSystem {
			return badRequest("snapshot archive lacks shard %s", id.String())
		}
	}
	for _, id := range command.Shards() {
		data, ok := files[id.String()+".snap"]
		if !ok {
			// A snapshot saved before the system shard existed: the ACL
			// state stays as it is.
			continue
		}
		if len(data) > maxSnapshotSize {
			return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("shard %s is %d bytes; a restore takes at most %d", id.String(), len(data), maxSnapshotSize)}
		}
		res, err := s.cfg.Raft.ProposeTo(r.Context(), id, command.Command{Time: s.cfg.Now().UnixNano(), Body: &command.RestoreBody{Data: data}})
		if err != nil {
			return err
		}
		if !res.Succeeded {
			return badRequest("restore of shard %s refused: %s", id, res.Refusal)
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
