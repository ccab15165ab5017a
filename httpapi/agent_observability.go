package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/hostinfo"
	"github.com/heraldhq/herald/agent/monitor"
	"github.com/heraldhq/herald/telemetry"
)

// Observability is what the agent's observability endpoints need of it.
type Observability interface {
	// SubscribeLog follows the agent's log (/v1/agent/monitor).
	SubscribeLog(level slog.Level, json bool) *monitor.Subscription
	// ACLsEnabled says whether acl.enabled is set.
	ACLsEnabled() bool
	// UpdateToken replaces the agent's token that name stands for; an
	// unknown name is an agenterr.ErrNotFound.
	UpdateToken(name, secret string) error
}

// routeObservability registers /v1/agent/metrics, /monitor, /host and
// /token/:type.
func (s *Server) routeObservability() {
	s.route("/v1/agent/metrics", s.agentMetrics, "GET")
	s.route("/v1/agent/monitor", s.agentMonitor, "GET")
	s.route("/v1/agent/host", s.agentHost, "GET")
	s.route("/v1/agent/token/", s.agentToken, "PUT")
	s.cfg.Metrics.Gauge([]string{"herald", "http", "blocking_queries"}, func() (float32, bool) {
		return float32(s.blockingQueries.Load()), true
	})
}

// apiPathLabel is the path label of Consul's consul.api.http timer: the
// route with dots for slashes and "_" for its variable part
// ("/v1/kv/" is "v1.kv._").
func apiPathLabel(route string) string {
	p := strings.ReplaceAll(strings.Trim(route, "/"), "/", ".")
	if strings.HasSuffix(route, "/") {
		p += "._"
	}
	return p
}

// measure wraps a route's handler in Consul's consul.api.http timer, with
// the status code as a label too.
func (s *Server) measure(route string, h http.HandlerFunc) http.HandlerFunc {
	if s.cfg.Metrics == nil {
		return h
	}
	path := apiPathLabel(route)
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.cfg.Metrics.MeasureSince([]string{"api", "http"}, start,
			telemetry.Label{Name: "method", Value: r.Method},
			telemetry.Label{Name: "path", Value: path},
			telemetry.Label{Name: "code", Value: strconv.Itoa(sw.code)})
	}
}

// statusWriter remembers the status code a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed answers (the monitor) through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// agentMetrics serves Consul's MetricsInfo, or with ?format=prometheus the
// Prometheus text format, which as in Consul needs a positive
// telemetry.prometheus_retention_time.
func (s *Server) agentMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Metrics == nil {
		return &apiError{http.StatusInternalServerError, "metrics are not collected on this agent"}
	}
	if r.URL.Query().Get("format") == "prometheus" {
		h := s.cfg.Metrics.PrometheusHandler()
		if h == nil {
			return &apiError{http.StatusUnsupportedMediaType, "Prometheus is not enabled since its retention time is not positive"}
		}
		h.ServeHTTP(w, r)
		return nil
	}
	summary, err := s.cfg.Metrics.Summary()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, summary)
}

// monitorFlushEvery is how often a monitor stream is flushed while lines
// arrive; Consul's agent flushes as often.
const monitorFlushEvery = 200 * time.Millisecond

// agentMonitor streams the agent's log (?loglevel, default info; ?logjson)
// until the client goes away or the agent stops.
func (s *Server) agentMonitor(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Observability == nil {
		return &apiError{http.StatusInternalServerError, "Streaming not supported"}
	}
	name := r.URL.Query().Get("loglevel")
	if name == "" {
		name = "INFO"
	}
	level, ok := config.ParseLogLevel(name)
	if !ok {
		return badRequest("Unknown log level: %s", name)
	}
	_, asJSON := r.URL.Query()["logjson"]
	flusher, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("Streaming not supported")
	}
	sub := s.cfg.Observability.SubscribeLog(level, asJSON)
	defer func() {
		if dropped := sub.Close(); dropped > 0 {
			s.log.Warn("Dropped logs during monitor request", "dropped_count", dropped)
		}
	}()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	tick := time.NewTicker(monitorFlushEvery)
	defer tick.Stop()
	stop := stopping(r.Context())
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-stop:
			return nil
		case line := <-sub.Lines():
			if _, err := w.Write(line); err != nil {
				return nil // the client went away
			}
		case <-tick.C:
			flusher.Flush()
		}
	}
}

// agentHost serves Consul's HostInfo (see package hostinfo).
func (s *Server) agentHost(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, hostinfo.Collect())
}

// agentToken replaces one of the agent's ACL tokens. Without acl.enabled
// it answers as Consul does: 401 "ACL support disabled".
func (s *Server) agentToken(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Observability == nil || !s.cfg.Observability.ACLsEnabled() {
		return &apiError{http.StatusUnauthorized, "ACL support disabled"}
	}
	var body struct{ Token string }
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	name := strings.TrimPrefix(r.URL.Path, "/v1/agent/token/")
	if err := s.cfg.Observability.UpdateToken(name, body.Token); err != nil {
		return err
	}
	s.log.Info("Updated agent's ACL token", "token", name)
	return nil
}
