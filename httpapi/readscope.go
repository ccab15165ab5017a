package httpapi

import (
	"net/http"
	"net/url"
	"sync/atomic"
)

// readScope is what ServeHTTP hands every read through its context: the
// Server's stop signal and count of waiting blocking queries, and the
// request's query string parsed once. A read consults its parameters in
// many places (consistency, filters, ?near, the answer cache's key), and
// parsing the query string again at each was most of the handler's cost
// of waking a watcher whose answer is already encoded.
type readScope struct {
	stopped  chan struct{}
	blocking *atomic.Int64
	// query is shared by everything that serves the request: read it,
	// never change it.
	query url.Values
}

type readScopeKey struct{}

// queryOf returns the request's parsed query string: the one parsed for a
// read by ServeHTTP, or a fresh parse for other requests. Callers must
// not change it.
func queryOf(r *http.Request) url.Values {
	if rs, ok := r.Context().Value(readScopeKey{}).(*readScope); ok && rs.query != nil {
		return rs.query
	}
	return r.URL.Query()
}
