package httpapi

import (
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"sync"
)

// Go's runtime profiles under /debug/pprof/, as Consul serves them: routed
// when enable_debug is set, and with ACLs on whatever enable_debug says, to
// tokens with operator:read (routeRules). Without either there is no
// route, and the paths answer 404.

// Sampling rates used while a block or mutex profile is being taken with
// ?seconds=N: one blocking event sampled per blockProfileRate nanoseconds
// blocked, one contention event in mutexProfileFraction. Outside such a
// window both are off, so a debug-enabled agent pays nothing for them.
const (
	blockProfileRate     = 10_000 // 10µs
	mutexProfileFraction = 10
)

// routeDebug registers /debug/pprof/ and its handlers.
func (s *Server) routeDebug() {
	if !s.cfg.EnableDebug && s.cfg.ACL == nil {
		return
	}
	s.route("/debug/pprof/", servePprofIndex, "GET")
	s.route("/debug/pprof/cmdline", handlerFunc(pprof.Cmdline), "GET")
	s.route("/debug/pprof/profile", handlerFunc(pprof.Profile), "GET")
	s.route("/debug/pprof/symbol", handlerFunc(pprof.Symbol), "GET", "POST")
	s.route("/debug/pprof/trace", handlerFunc(pprof.Trace), "GET")
}

// handlerFunc adapts a plain handler to route's signature.
func handlerFunc(h http.HandlerFunc) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		h(w, r)
		return nil
	}
}

// samplingMu keeps two profile windows from turning each other's sampling
// off halfway.
var samplingMu sync.Mutex

// servePprofIndex serves the index and the named profiles (heap, allocs,
// goroutine, block, mutex, threadcreate). A block or mutex profile asked
// for over a window (?seconds=N) turns that sampling on for the window
// only, so that it records something without costing the agent the rest
// of the time.
func servePprofIndex(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Path[len("/debug/pprof/"):]
	secs, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
	if secs > 0 && (name == "block" || name == "mutex") {
		samplingMu.Lock()
		defer samplingMu.Unlock()
		if name == "block" {
			runtime.SetBlockProfileRate(blockProfileRate)
			defer runtime.SetBlockProfileRate(0)
		} else {
			runtime.SetMutexProfileFraction(mutexProfileFraction)
			defer runtime.SetMutexProfileFraction(0)
		}
	}
	pprof.Index(w, r)
	return nil
}
