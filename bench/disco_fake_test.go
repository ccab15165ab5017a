package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDisco is a throwaway in-memory stand-in for the discovery side of a
// Consul agent, for the discovery workloads' and the fan-out's tests: it
// keeps catalog registrations and agent registrations and answers health
// reads, as blocking queries too. It is never a benchmark target.
type fakeDisco struct {
	mu        sync.Mutex
	index     uint64
	changed   chan struct{}                             // closed and replaced on every change
	instances map[string]map[string]catalogRegistration // service -> ID -> registration
	agent     map[string]string                         // agent service ID -> check ID
	// wakeDelay, if set, holds woken blocking queries this long, to
	// check that latencies are measured from the change.
	wakeDelay atomic.Int64 // nanoseconds
	// ignoreIndex answers blocking queries at once, as if data changed.
	ignoreIndex atomic.Bool
	blocked     atomic.Int64 // blocking queries parked now
	// healthStatus, if set, is the status every health read answers.
	healthStatus atomic.Int64
}

func newFakeDisco(t testing.TB) (*fakeDisco, string) {
	f := &fakeDisco{index: 1, changed: make(chan struct{}),
		instances: map[string]map[string]catalogRegistration{}, agent: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, strings.TrimPrefix(srv.URL, "http://")
}

// bump records a change; f.mu must be held.
func (f *fakeDisco) bump() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeDisco) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v1/status/leader":
		fmt.Fprint(w, `"127.0.0.1:8300"`)
	case p == "/v1/catalog/register" && r.Method == http.MethodPut:
		var reg catalogRegistration
		if err := json.NewDecoder(r.Body).Decode(&reg); err != nil || reg.Service.ID == "" || reg.Check.ServiceID != reg.Service.ID {
			http.Error(w, "bad registration", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		if f.instances[reg.Service.Service] == nil {
			f.instances[reg.Service.Service] = map[string]catalogRegistration{}
		}
		f.instances[reg.Service.Service][reg.Service.ID] = reg
		f.bump()
		f.mu.Unlock()
		fmt.Fprint(w, "true")
	case p == "/v1/agent/service/register" && r.Method == http.MethodPut:
		var def struct {
			ID, Name string
			Check    struct{ CheckID, TTL, Status string }
		}
		if err := json.NewDecoder(r.Body).Decode(&def); err != nil || def.ID == "" || def.Check.TTL == "" {
			http.Error(w, "bad service definition", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.agent[def.ID] = def.Check.CheckID
		f.mu.Unlock()
	case strings.HasPrefix(p, "/v1/health/service/"):
		f.health(w, r, strings.TrimPrefix(p, "/v1/health/service/"))
	case strings.HasPrefix(p, "/v1/catalog/service/"):
		f.mu.Lock()
		var out []map[string]string
		for id := range f.instances[strings.TrimPrefix(p, "/v1/catalog/service/")] {
			out = append(out, map[string]string{"ServiceID": id})
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(out)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeDisco) health(w http.ResponseWriter, r *http.Request, service string) {
	if st := f.healthStatus.Load(); st != 0 {
		http.Error(w, "injected failure", int(st))
		return
	}
	var want uint64
	raw := r.URL.Query().Get("index")
	if raw != "" {
		want, _ = strconv.ParseUint(raw, 10, 64)
	}
	if raw != "" && !f.ignoreIndex.Load() {
		f.blocked.Add(1)
		for {
			f.mu.Lock()
			idx, ch := f.index, f.changed
			f.mu.Unlock()
			if idx > want {
				break
			}
			select {
			case <-ch:
			case <-r.Context().Done():
				f.blocked.Add(-1)
				return
			}
		}
		f.blocked.Add(-1)
		time.Sleep(time.Duration(f.wakeDelay.Load()))
	}
	f.mu.Lock()
	idx := f.index
	if raw != "" && f.ignoreIndex.Load() {
		idx = want + 1
	}
	var ids []string
	for id := range f.instances[service] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	type check struct{ CheckID, Status string }
	type entry struct {
		Node    struct{ Node, Address string }
		Service struct{ ID, Service string }
		Checks  []check
	}
	out := []entry{}
	for _, id := range ids {
		reg := f.instances[service][id]
		var e entry
		e.Node.Node, e.Node.Address = reg.Node, reg.Address
		e.Service.ID, e.Service.Service = id, service
		e.Checks = []check{{reg.Check.CheckID, reg.Check.Status}}
		out = append(out, e)
	}
	f.mu.Unlock()
	w.Header().Set("X-Consul-Index", strconv.FormatUint(idx, 10))
	json.NewEncoder(w).Encode(out)
}

func (f *fakeDisco) agentServices() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.agent {
		out[k] = v
	}
	return out
}
