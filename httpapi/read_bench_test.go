package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/projections"
)

// readAPI is the API over 10,000 keys of 100 bytes (kvbench's keyspace) and
// a service of 30 passing instances (discobench's health read), without
// metrics.
func readAPI(b *testing.B) *httpapi.Server {
	b.Helper()
	kv := projections.NewKV()
	evs := make([]event.Event, 0, 10000)
	value := make([]byte, 100)
	for i := range 10000 {
		key := fmt.Sprintf("bench/k%05d", i)
		evs = append(evs, event.Event{Type: event.KVUpdated, Key: key,
			KV: &event.KVEntry{Key: key, CreateIndex: 1, ModifyIndex: 1, Value: value}})
	}
	kv.Apply(1, evs)
	return httpapi.New(httpapi.Config{Datacenter: "dc1", KV: kv, Catalog: catalogWith("api", 30), Raft: leaderRaft{},
		Logger: slog.New(slog.DiscardHandler)})
}

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks price the handler and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkKVGet is the handler's share of kvbench's get: one key of
// 10,000, its answer encoded and written.
func BenchmarkKVGet(b *testing.B) {
	api := readAPI(b)
	reqs := make([]*http.Request, 1024)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/v1/kv/bench/k"+fmt.Sprintf("%05d", i*9%10000), nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		api.ServeHTTP(&discardWriter{h: http.Header{}}, reqs[i%len(reqs)])
		i++
	}
}

// BenchmarkHealthServiceWake is the handler's share of waking one
// blocking watcher of discobench's health read: a request whose index is
// behind, answered from the encoded answer the first one cached.
func BenchmarkHealthServiceWake(b *testing.B) {
	api := readAPI(b)
	req := httptest.NewRequest(http.MethodGet, "/v1/health/service/api?index=0&wait="+strconv.Itoa(300)+"s", nil)
	b.ReportAllocs()
	for b.Loop() {
		api.ServeHTTP(&discardWriter{h: http.Header{}}, req)
	}
}
