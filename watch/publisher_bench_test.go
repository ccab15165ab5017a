package watch

import (
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
)

// BenchmarkPublish measures events per second from an EventLog through the
// Publisher into a JetStream file-store stream on an embedded server,
// counting an event once the stream has acknowledged it. Each event is a
// kv.updated with a 100-byte value, one event per index.
func BenchmarkPublish(b *testing.B) {
	s := startTestServer(b)
	nc := connect(b, s.ClientURL())
	log := newMemLog()
	log.drop = true
	p := newTestPublisher(b, nc, log)
	runPublisher(b, p)

	value := make([]byte, 100)
	evs := make([]event.Event, b.N)
	for i := range evs {
		idx := uint64(i + 1)
		key := fmt.Sprintf("bench/%d", i%1000)
		evs[i] = event.Event{Type: event.KVUpdated, Shard: event.ShardKV, Index: idx, Key: key,
			KV: &event.KVEntry{Key: key, CreateIndex: 1, ModifyIndex: idx, Value: value}}
	}
	last := uint64(b.N)

	b.ResetTimer()
	start := time.Now()
	// The state machine appends in batches as Raft commits them.
	for i := 0; i < len(evs); i += 64 {
		log.Append(evs[i:min(i+64, len(evs))]...)
	}
	for p.PublishedIndex() < last {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
