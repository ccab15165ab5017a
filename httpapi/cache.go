package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// answerCache keeps the last encoded answer of each distinct read, tagged
// with its index. When one change wakes thousands of blocking queries for
// the same data, the first to run encodes the answer and the rest write the
// same bytes: waking a watcher then costs a map lookup and a write, not a
// rebuild and a JSON encoding of the whole answer.
type answerCache struct {
	mu      sync.Mutex
	entries map[string]*cachedAnswer
}

// cachedAnswer is one read's answer at one index.
type cachedAnswer struct {
	index  uint64
	body   []byte
	stored time.Time
}

// maxCachedAnswers bounds the cache; past it the cache starts afresh, which
// costs one encoding per distinct read and keeps memory flat.
const maxCachedAnswers = 1024

// answerKey names a read by its path and the parameters that shape its
// answer; those that only say how to wait or how consistent to be are left
// out, since every waiter of the same data must share the entry. With ACLs
// on, answers are filtered by token, and shared by the same token's
// requests only.
func answerKey(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return r.URL.Path + "?" + cacheScope(r)
	}
	// The request's parsed query is shared (queryOf): copy what is kept.
	q := url.Values{}
	for name, values := range queryOf(r) {
		switch name {
		case "index", "wait", "stale", "consistent", "cached", "dc", "token":
		default:
			q[name] = values
		}
	}
	return r.URL.Path + "?" + q.Encode() + cacheScope(r)
}

// writeCachedJSON answers with the JSON of build(), reusing the bytes
// encoded for the same read at the same index. A ?cached read learns which
// it got as Consul's agent cache tells it: X-Cache HIT (with the answer's
// Age in seconds) or MISS.
func (s *Server) writeCachedJSON(w http.ResponseWriter, r *http.Request, index uint64, build func() (any, error)) error {
	key := answerKey(r)
	s.cache.mu.Lock()
	hit := s.cache.entries[key]
	s.cache.mu.Unlock()
	reused := hit != nil && hit.index == index
	if !reused {
		v, err := build()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			return err
		}
		hit = &cachedAnswer{index: index, body: buf.Bytes(), stored: s.cfg.Now()}
		s.cache.mu.Lock()
		if s.cache.entries == nil || len(s.cache.entries) >= maxCachedAnswers {
			s.cache.entries = map[string]*cachedAnswer{}
		}
		s.cache.entries[key] = hit
		s.cache.mu.Unlock()
	}
	if _, cached := queryOf(r)["cached"]; cached {
		if reused {
			w.Header().Set("X-Cache", "HIT")
			w.Header().Set("Age", strconv.FormatInt(int64(s.cfg.Now().Sub(hit.stored).Seconds()), 10))
		} else {
			w.Header().Set("X-Cache", "MISS")
		}
	}
	return writeEncoded(w, hit)
}

// writeEncoded sends a cached answer with its length, so that a large one
// goes out in two writes (the connection's buffer holding the headers,
// then the rest) rather than in chunked framing and a third write for the
// last chunk. Waking thousands of watchers, that write is most of the cost
// of each.
func writeEncoded(w http.ResponseWriter, a *cachedAnswer) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(a.body)
	return err
}
