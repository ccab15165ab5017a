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

// ReadSnapshot reads and verifies a snapshot archive, whole: its meta.json
// and each shard's stream, by file name.
func ReadSnapshot(r io.Reader) (SnapshotMeta, map[string][]byte, error) {
	files := map[string][]byte{}
	meta, err := walkSnapshot(r, func(name string, r io.Reader) error {
		b, err := io.ReadAll(r)
		files[name] = b
		return err
	})
	if err != nil {
		return meta, nil, err
	}
	return meta, files, nil
}
