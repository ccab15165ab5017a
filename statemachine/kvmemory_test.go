package statemachine

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// BenchmarkKVProjectionMemory reports the live heap an entry of the KV
// projection costs (B/entry): the projection loaded from a shard of
// 100,000 keys of 100 B named as scalebench names them, as at start-up and
// after a restore. Pebble's own memory is not in it (its cache and
// memtables live outside Go's heap).
func BenchmarkKVProjectionMemory(b *testing.B) {
	const keys, valueSize = 100_000, 100
	s := New(Config{Dir: b.TempDir(), Shard: event.ShardKV})
	if _, err := s.Open(nil); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := []byte(strings.Repeat("v", valueSize))
	now := time.Unix(1000, 0).UnixNano()
	var entries []sm.Entry
	for i := 0; i < keys; i += 64 {
		ops := make([]command.KVOp, 0, 64)
		for k := i; k < min(i+64, keys); k++ {
			ops = append(ops, command.KVOp{Verb: command.KVSet, Key: fmt.Sprintf("scale/%08d", k), Value: value})
		}
		cmd, err := command.Encode(command.Command{Time: now, Body: &command.KVTxnBody{Ops: ops}})
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, sm.Entry{Index: uint64(len(entries) + 1), Cmd: cmd})
	}
	for len(entries) > 0 {
		n := min(len(entries), 256)
		if _, err := s.Update(entries[:n]); err != nil {
			b.Fatal(err)
		}
		entries = entries[n:]
	}
	b.ResetTimer()
	var perEntry float64
	for i := 0; i < b.N; i++ {
		before := liveHeap()
		kv := projections.NewKV()
		if err := kv.Load(s.AppliedIndex(), dbSource{s.db}); err != nil {
			b.Fatal(err)
		}
		perEntry = float64(liveHeap()-before) / keys
		if got, _, _ := kv.List("scale/", false); len(got) != keys {
			b.Fatalf("projection holds %d entries, want %d", len(got), keys)
		}
		runtime.KeepAlive(kv)
	}
	b.ReportMetric(perEntry, "B/entry")
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
