package log_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// TestDataDirKeepsItsLogDatabaseCount: a new data dir keeps the Raft log
// in one database per shard; a data dir made with Dragonboat's default of
// 16 (every version before) opens again with its data, as Dragonboat
// refuses a data dir opened with another count than it was made with.
func TestDataDirKeepsItsLogDatabaseCount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	fresh := &server{dir: t.TempDir(), addr: freeAddr(t), id: hlog.ReplicaIDFor("fresh")}
	fresh.start(t, map[uint64]string{fresh.id: fresh.addr})
	t.Cleanup(fresh.stop)
	if got, want := hlog.RecordedLogDBShards(filepath.Join(fresh.dir, "raft")), uint64(len(command.Shards())); got != want {
		t.Errorf("a new data dir records %d log databases, want %d", got, want)
	}
	if err := put(ctx, fresh.host, "k", "fresh"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, fresh, "k", "fresh")
	fresh.stop()

	restore := hlog.SetNewLogDBShards(16)
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
	if got := hlog.RecordedLogDBShards(filepath.Join(old.dir, "raft")); got != 16 {
		t.Errorf("the older data dir records %d log databases after a restart, want its 16", got)
	}
	waitValue(t, old, "k", "before")
	if err := put(ctx, old.host, "k", "after"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, old, "k", "after")
}
