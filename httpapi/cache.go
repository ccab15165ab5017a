package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/acl"
)

// answerCache keeps the last encoded answer of each distinct read, tagged
// with its index. When one change wakes thousands of blocking queries for
// the same data, the first to run encodes the answer and the rest write the
// same bytes: waking a watcher then costs a map lookup and a write, not a
// rebuild and a JSON encoding of the whole answer.
type answerCache struct {
	mu      sync.Mutex
	entries map[answerKey]*cachedAnswer
}

// answerKey names a read: its path and the parameters that shape its
// answer, and with ACLs on the view of the token that filtered it, its
// authorizer. The resolver gives a token a new authorizer when its rights
// change, so an answer filtered under the old ones, cached at an index the
// data has not moved from, is not served under the new ones.
type answerKey struct {
	read string
	view any
}

// cachedAnswer is one read's answer at one index.
type cachedAnswer struct {
	index  uint64
	body   []byte
	stored time.Time

	// gz is body gzipped, made by the first request that accepts it.
	gzOnce sync.Once
	gz     []byte
}

// gzipMinSize is the smallest answer sent gzipped to a client that
// accepts it: below about one packet, compressing saves no write.
const gzipMinSize = 1400

// gzipped returns the answer's body gzipped, compressing it once however
// many requests are answered with it.
func (a *cachedAnswer) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(a.body); err == nil && zw.Close() == nil {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip:
// Go's HTTP client, and so the official Consul client, asks for it unless
// told not to. A gzip given q=0 is refused.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q, hasQ := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			if !hasQ {
				return true
			}
			if f, err := strconv.ParseFloat(q, 64); err == nil && f > 0 {
				return true
			}
			return false
		}
	}
	return false
}

// maxCachedAnswers bounds the cache; past it the cache starts afresh, which
// costs one encoding per distinct read and keeps memory flat.
const maxCachedAnswers = 1024

// keyOf names the request's read. Parameters that only say how to wait
// or how consistent to be are left out, since every waiter of the same
// data must share the entry. It reports false when the token's authorizer
// cannot be compared, and the answer must not be cached.
func keyOf(r *http.Request) (answerKey, bool) {
	k := answerKey{read: r.URL.Path + "?"}
	if r.URL.RawQuery != "" {
		// The request's parsed query is shared (queryOf): copy what is kept.
		q := url.Values{}
		for name, values := range queryOf(r) {
			switch name {
			case "index", "wait", "stale", "consistent", "cached", "dc", "token":
			default:
				q[name] = values
			}
		}
		k.read += q.Encode()
	}
	var ok bool
	k.view, ok = cacheView(r)
	return k, ok
}

// cacheView is the view an answer to the request was filtered under: nil
// with ACLs off, else the token's authorizer. It reports false when that
// cannot be compared (== could panic), and the answer must not be cached;
// authorizers are pointers or plain values.
func cacheView(r *http.Request) (any, bool) {
	if aclOf(r.Context()) == nil {
		return nil, true
	}
	a := acl.IdentityFrom(r.Context()).Authorizer
	if a == nil {
		return nil, false
	}
	switch reflect.TypeOf(a).Kind() {
	case reflect.Pointer, reflect.Bool, reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return a, true
	}
	return nil, false
}

// writeCachedJSON answers with the JSON of build(), reusing the bytes
// encoded for the same read at the same index. A ?cached read learns which
// it got as Consul's agent cache tells it: X-Cache HIT (with the answer's
// Age in seconds) or MISS.
func (s *Server) writeCachedJSON(w http.ResponseWriter, r *http.Request, index uint64, build func() (any, error)) error {
	key, cacheable := keyOf(r)
	var hit *cachedAnswer
	if cacheable {
		s.cache.mu.Lock()
		hit = s.cache.entries[key]
		s.cache.mu.Unlock()
	}
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
		if cacheable {
			s.cache.mu.Lock()
			if s.cache.entries == nil || len(s.cache.entries) >= maxCachedAnswers {
				s.cache.entries = map[answerKey]*cachedAnswer{}
			}
			s.cache.entries[key] = hit
			s.cache.mu.Unlock()
		}
	}
	if _, cached := queryOf(r)["cached"]; cached {
		if reused {
			w.Header().Set("X-Cache", "HIT")
			w.Header().Set("Age", strconv.FormatInt(int64(s.cfg.Now().Sub(hit.stored).Seconds()), 10))
		} else {
			w.Header().Set("X-Cache", "MISS")
		}
	}
	return writeEncoded(w, r, hit)
}

// writeEncoded sends a cached answer with its length, so that a large one
// goes out in two writes (the connection's buffer holding the headers,
// then the rest) rather than in chunked framing and a third write for the
// last chunk. Waking thousands of watchers, that write is most of the cost
// of each. A client that accepts gzip (as Consul's HTTP API gzips its
// answers) gets a large answer gzipped, compressed once per index: a
// 17 kB health answer of 30 instances is about a tenth of that.
func writeEncoded(w http.ResponseWriter, r *http.Request, a *cachedAnswer) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Add("Vary", "Accept-Encoding")
	body := a.body
	if len(body) >= gzipMinSize && acceptsGzip(r) {
		if gz := a.gzipped(); gz != nil {
			body = gz
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}
