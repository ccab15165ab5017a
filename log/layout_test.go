package log_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// TestDataDirKeepsItsLayout: a new data dir keeps the Raft log in one
// database per shard and has four step workers; a data dir made with
// Dragonboat's defaults of 16 each (every version before) opens again with
// its data, as Dragonboat refuses a data dir opened with other counts than
// it was made with.
func TestDataDirKeepsItsLayout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	fresh := &server{dir: t.TempDir(), addr: freeAddr(t), id: hlog.ReplicaIDFor("fresh")}
	fresh.start(t, map[uint64]string{fresh.id: fresh.addr})
	t.Cleanup(fresh.stop)
	if steps, dbs := hlog.RecordedLayout(filepath.Join(fresh.dir, "raft")); steps != 4 || dbs != uint64(len(command.Shards())) {
		t.Errorf("a new data dir records %d step workers and %d log databases, want 4 and %d", steps, dbs, len(command.Shards()))
	}
	if err := put(ctx, fresh.host, "k", "fresh"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, fresh, "k", "fresh")
	fresh.stop()

	restore := hlog.SetNewLayout(16, 16)
	old := &server{dir: t.TempDir(), addr: freeAddr(t), id: hlog.ReplicaIDFor("old")}
	old.start(t, map[uint64]string{old.id: old.addr})
	restore()
	t.Cleanup(old.stop)
	if err := put(ctx, old.host, "k", "before"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, old, "k", "before")
	old.stop()

	old.start(t, nil)
	if steps, dbs := hlog.RecordedLayout(filepath.Join(old.dir, "raft")); steps != 16 || dbs != 16 {
		t.Errorf("the older data dir records %d step workers and %d log databases after a restart, want its 16 and 16", steps, dbs)
	}
	waitValue(t, old, "k", "before")
	if err := put(ctx, old.host, "k", "after"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, old, "k", "after")
}
