package bench

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeKV is a throwaway in-memory server for the runner's tests. It speaks
// just enough of Consul's KV API and of etcd's v3 JSON gateway to check
// that the targets send what those servers expect; it is never a
// benchmark target.
type fakeKV struct {
	mu    sync.Mutex
	data  map[string][]byte
	puts  atomic.Int64
	gets  atomic.Int64
	conns atomic.Int64 // connections accepted, to check keep-alive
	// failEvery, if > 0, answers HTTP 500 to every n-th request.
	failEvery int64
	reqs      atomic.Int64
}

// newFake starts a fake server; it is closed when the test ends.
func newFake(t testing.TB) (*fakeKV, string) {
	f := &fakeKV{data: map[string][]byte{}}
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return f, strings.TrimPrefix(srv.URL, "http://")
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := f.reqs.Add(1); f.failEvery > 0 && n%f.failEvery == 0 {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/kv/"):
		f.consul(w, r, strings.TrimPrefix(r.URL.Path, "/v1/kv/"))
	case r.URL.Path == "/v3/kv/put" || r.URL.Path == "/v3/kv/range":
		f.etcd(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeKV) consul(w http.ResponseWriter, r *http.Request, key string) {
	switch r.Method {
	case http.MethodPut:
		v, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.set(key, v)
		f.puts.Add(1)
		io.WriteString(w, "true")
	case http.MethodGet:
		f.gets.Add(1)
		v, ok := f.get(key)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode([]map[string]any{{"Key": key, "Value": v, "Flags": 0}})
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (f *fakeKV) etcd(w http.ResponseWriter, r *http.Request) {
	var req struct{ Key, Value string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":"bad json","code":3}`, http.StatusBadRequest)
		return
	}
	key, err1 := base64.StdEncoding.DecodeString(req.Key)
	val, err2 := base64.StdEncoding.DecodeString(req.Value)
	if err1 != nil || err2 != nil {
		http.Error(w, `{"error":"bad base64","code":3}`, http.StatusBadRequest)
		return
	}
	header := map[string]any{"cluster_id": "1", "revision": "2"}
	if r.URL.Path == "/v3/kv/put" {
		f.set(string(key), val)
		f.puts.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"header": header})
		return
	}
	f.gets.Add(1)
	resp := map[string]any{"header": header}
	if v, ok := f.get(string(key)); ok {
		resp["kvs"] = []map[string]any{{"key": req.Key, "value": v}}
		resp["count"] = "1"
	}
	json.NewEncoder(w).Encode(resp)
}

func (f *fakeKV) set(k string, v []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[k] = v
}

func (f *fakeKV) get(k string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.data[k]
	return v, ok
}

func (f *fakeKV) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.data)
}
