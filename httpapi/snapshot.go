package httpapi

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
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
// Each shard's stream is spooled to a file (a tar entry needs its size,
// SHA256SUMS every checksum, before they are written), so that a large
// state is never held in memory.
func (s *Server) snapshotSave(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	meta := SnapshotMeta{Version: 1, Indexes: map[string]uint64{}, Time: s.cfg.Now().UTC()}
	type spooled struct {
		file *os.File
		size int64
		sum  string
	}
	shards := map[string]*spooled{}
	defer func() {
		for _, sp := range shards {
			sp.file.Close()
			os.Remove(sp.file.Name())
		}
	}()
	for _, id := range command.Shards() {
		if err := s.cfg.Raft.ReadIndex(r.Context(), id); err != nil {
			return err
		}
		f, err := os.CreateTemp(s.cfg.SnapshotSpoolDir, "snapshot-"+id.String()+"-*.spool")
		if err != nil {
			return err
		}
		sp := &spooled{file: f}
		name := id.String() + ".snap"
		shards[name] = sp
		hash := sha256.New()
		bw := bufio.NewWriterSize(io.MultiWriter(f, hash), 256<<10)
		index, err := s.cfg.Snapshots.Export(id, bw)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return err
		}
		if sp.size, err = f.Seek(0, io.SeekCurrent); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		sp.sum = hex.EncodeToString(hash.Sum(nil))
		meta.Indexes[id.String()] = index
		meta.Index = max(meta.Index, index)
	}
	meta.ID = fmt.Sprintf("%d-%d", meta.Index, meta.Time.UnixMilli())
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	sums := map[string]string{}
	for name, sp := range shards {
		sums[name] = sp.sum
	}
	metaSum := sha256.Sum256(metaJSON)
	sums["meta.json"] = hex.EncodeToString(metaSum[:])
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var list strings.Builder
	for _, n := range names {
		fmt.Fprintf(&list, "%s  %s\n", sums[n], n)
	}
	sumsFile := []byte(list.String())

	w.Header().Set("Content-Type", "application/x-gzip")
	s.setMeta(w, q, command.ShardCatalog, meta.Index)
	w.WriteHeader(http.StatusOK)
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	entry := func(name string, size int64, body io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: meta.Time}); err != nil {
			return err
		}
		_, err := io.Copy(tw, body)
		return err
	}
	for _, n := range names {
		var err error
		if sp, ok := shards[n]; ok {
			err = entry(n, sp.size, sp.file)
		} else {
			err = entry(n, int64(len(metaJSON)), bytes.NewReader(metaJSON))
		}
		if err != nil {
			return err
		}
	}
	if err := entry("SHA256SUMS", int64(len(sumsFile)), bytes.NewReader(sumsFile)); err != nil {
		return err
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
