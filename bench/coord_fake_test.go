package bench

import (
	"encoding/json"
	"fmt"
	"io"
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

// fakeCoord is a throwaway in-memory stand-in for the coordination side
// of a Consul agent, for the lock, session and key-prefix fan-out tests:
// sessions, KV keys with ?acquire/?release, and blocking reads of a key or
// a prefix (?recurse). It is never a benchmark target.
type fakeCoord struct {
	mu       sync.Mutex
	index    uint64
	changed  chan struct{} // closed and replaced on every change
	kv       map[string]*fakeEntry
	sessions map[string]bool
	nextID   int

	creates, destroys atomic.Int64
	bodies            chan []byte // session create bodies, if set
	// grantAlways is a broken lock: every acquisition succeeds, held or
	// not, to check that RunLocks notices.
	grantAlways atomic.Bool
	// getDelay slows plain key reads, widening windows.
	getDelay atomic.Int64 // nanoseconds
	// wakeDelay holds woken blocking reads this long.
	wakeDelay atomic.Int64 // nanoseconds
	blocked   atomic.Int64 // blocking reads parked now
	plainGets atomic.Int64 // key reads without ?index
}

type fakeEntry struct {
	value   []byte
	session string
	modify  uint64
}

func newFakeCoord(t testing.TB) (*fakeCoord, string) {
	f := &fakeCoord{index: 1, changed: make(chan struct{}), kv: map[string]*fakeEntry{}, sessions: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, strings.TrimPrefix(srv.URL, "http://")
}

// bump records a change; f.mu must be held.
func (f *fakeCoord) bump() uint64 {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
	return f.index
}

func (f *fakeCoord) live() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

func (f *fakeCoord) holder(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.kv[key]; e != nil {
		return e.session
	}
	return ""
}

func (f *fakeCoord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v1/status/leader":
		fmt.Fprint(w, `"127.0.0.1:8300"`)
	case p == "/v1/agent/self":
		fmt.Fprint(w, `{"Config":{"Datacenter":"dc7","NodeName":"n1"}}`)
	case p == "/v1/session/create" && r.Method == http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		var req struct{ LockDelay string }
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if f.bodies != nil {
			select {
			case f.bodies <- body:
			default:
			}
		}
		f.mu.Lock()
		f.nextID++
		id := fmt.Sprintf("sess-%d", f.nextID)
		f.sessions[id] = true
		f.bump()
		f.mu.Unlock()
		f.creates.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"ID": id})
	case strings.HasPrefix(p, "/v1/session/destroy/") && r.Method == http.MethodPut:
		id := strings.TrimPrefix(p, "/v1/session/destroy/")
		f.mu.Lock()
		delete(f.sessions, id)
		for _, e := range f.kv {
			if e.session == id {
				e.session = ""
				e.modify = f.bump()
			}
		}
		f.bump()
		f.mu.Unlock()
		f.destroys.Add(1)
		fmt.Fprint(w, "true")
	case strings.HasPrefix(p, "/v1/kv/") && r.Method == http.MethodPut:
		f.put(w, r, strings.TrimPrefix(p, "/v1/kv/"))
	case strings.HasPrefix(p, "/v1/kv/") && r.Method == http.MethodGet:
		f.get(w, r, strings.TrimPrefix(p, "/v1/kv/"))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeCoord) put(w http.ResponseWriter, r *http.Request, key string) {
	value, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.kv[key]
	if e == nil {
		e = &fakeEntry{}
	}
	switch {
	case q.Has("acquire"):
		s := q.Get("acquire")
		if !f.sessions[s] {
			http.Error(w, "invalid session", http.StatusInternalServerError)
			return
		}
		if e.session != "" && e.session != s && !f.grantAlways.Load() {
			fmt.Fprint(w, "false")
			return
		}
		e.session = s
	case q.Has("release"):
		if e.session != q.Get("release") {
			fmt.Fprint(w, "false")
			return
		}
		e.session = ""
	}
	if !q.Has("release") {
		e.value = value
	}
	f.kv[key] = e
	e.modify = f.bump()
	fmt.Fprint(w, "true")
}

// get answers a key, or with ?recurse every key under the prefix, as a
// blocking query when ?index is given.
func (f *fakeCoord) get(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	recurse := q.Has("recurse")
	want, _ := strconv.ParseUint(q.Get("index"), 10, 64)
	wait, _ := time.ParseDuration(q.Get("wait"))
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	if want == 0 {
		f.plainGets.Add(1)
		time.Sleep(time.Duration(f.getDelay.Load()))
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	parked := false
	for {
		f.mu.Lock()
		var list []map[string]any
		idx := f.index
		if recurse {
			var keys []string
			for k := range f.kv {
				if strings.HasPrefix(k, key) {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				list = append(list, map[string]any{"Key": k, "Value": f.kv[k].value, "ModifyIndex": f.kv[k].modify})
			}
		} else if e := f.kv[key]; e != nil {
			idx = e.modify
			m := map[string]any{"Key": key, "Value": e.value, "ModifyIndex": e.modify}
			if e.session != "" {
				m["Session"] = e.session
			}
			list = append(list, m)
		}
		changed := f.changed
		f.mu.Unlock()
		if want == 0 || idx > want {
			if parked {
				f.blocked.Add(-1)
				time.Sleep(time.Duration(f.wakeDelay.Load()))
			}
			w.Header().Set("X-Consul-Index", strconv.FormatUint(idx, 10))
			if len(list) == 0 {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			json.NewEncoder(w).Encode(list)
			return
		}
		if !parked {
			parked = true
			f.blocked.Add(1)
		}
		select {
		case <-changed:
		case <-timer.C:
			want = 0 // answer as it is
		case <-r.Context().Done():
			f.blocked.Add(-1)
			return
		}
	}
}
