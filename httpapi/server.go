package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
	"github.com/heraldhq/herald/telemetry"
)

// Raft is the part of the command log the API needs.
type Raft interface {
	// Propose writes a command to the log of its type's shard; ProposeTo
	// to a shard named by the caller (a restore, which every shard takes).
	Propose(ctx context.Context, cmd command.Command) (command.Result, error)
	ProposeTo(ctx context.Context, shard command.Shard, cmd command.Command) (command.Result, error)
	ReadIndex(ctx context.Context, shardID command.Shard) error
	Leader(shardID command.Shard) (replicaID uint64, ok bool)
}

// Agent describes the local agent for /v1/agent/self and /v1/status.
type Agent interface {
	// Self is the JSON body of /v1/agent/self.
	Self() any
	// LeaderAddress is the catalog shard leader's server address, "" when
	// there is none: "the leader" of /v1/status/leader.
	LeaderAddress() string
	// Peers are the server addresses of the voters.
	Peers(ctx context.Context) ([]string, error)
	// NodeName is the agent's node, the default node of new sessions.
	NodeName() string
	// Members are the cluster members this agent knows, in the shape of
	// /v1/agent/members.
	Members() []Member
	// RaftConfiguration is the body of /v1/operator/raft/configuration:
	// Consul's Servers and Index, and the voters and leader of every shard.
	RaftConfiguration(ctx context.Context) (RaftConfiguration, error)
	// RemovePeer removes a server, by ID or Raft address, from the voters.
	RemovePeer(ctx context.Context, id, address string) error
	// Join, Leave and ForceLeave change gossip membership.
	Join(addr string) error
	Leave() error
	ForceLeave(node string, prune bool) error
}

// Config is what the API serves from.
type Config struct {
	Datacenter     string
	KVMaxValueSize int
	TxnMaxOps      int
	Raft           Raft
	KV             *projections.KV
	Catalog        *projections.Catalog
	Agent          Agent
	// Local serves /v1/agent/* for the agent's own services and checks.
	Local LocalAgent
	// Events serves /v1/event/* from the agent's user events.
	Events UserEvents
	// Snapshots serves /v1/snapshot.
	Snapshots Snapshotter
	// SnapshotSpoolDir holds each shard's stream while GET /v1/snapshot
	// builds its archive (the agent's data dir, on disk); empty: the
	// system's temporary directory.
	SnapshotSpoolDir string
	// Metrics records the API's metrics and serves /v1/agent/metrics; nil
	// records nothing.
	Metrics *telemetry.Registry
	// Observability serves /v1/agent/monitor and /v1/agent/token.
	Observability Observability
	Logger        *slog.Logger
	// Now is the clock commands are stamped with; time.Now when nil.
	Now func() time.Time
	// Operator serves the autopilot, keyring and coordinate endpoints
	// (operator.go, coordinate.go); without it they are not routed.
	Operator Operator
	// ConnectCA serves the Connect CA endpoints; nil when Connect is
	// disabled (connectca.go).
	ConnectCA *projections.ConnectCA
	// CASigner signs with the CA's private keys, which the projection
	// does not hold; set with ConnectCA (connectca.go).
	CASigner CASigner
	// ConfigEntries serves /v1/config and the mesh reads that follow
	// config entries (configentry.go).
	ConfigEntries *projections.ConfigEntries
	// ACL resolves the token of each request (acl.Resolver); nil when ACLs
	// are disabled, and every request may do everything.
	ACL acl.Resolver
	// ACLState serves the /v1/acl/* reads; ACLServer what they read of a
	// server's replica, nil on a client agent (acl.go).
	ACLState  *projections.ACL
	ACLServer ACLServer
	// Remote reaches the other datacenters (remote.go); nil answers
	// every other datacenter "No path to datacenter".
	Remote Remote
	// PrimaryDatacenter is primary_datacenter on a secondary, "" elsewhere:
	// config entry writes go there (primary.go).
	PrimaryDatacenter string
	// ACLPrimaryDatacenter is primary_datacenter on a secondary with ACLs
	// on, where global ACL writes go (acl_replication.go); "" otherwise.
	ACLPrimaryDatacenter string
	// ACLTokenReplication says the secondary replicates global tokens
	// (acl.enable_token_replication); without it, token reads are the
	// primary's.
	ACLTokenReplication bool
	// EnableDebug serves Go's runtime profiles under /debug/pprof/
	// (enable_debug; debug.go).
	EnableDebug bool
}

// Server is the HTTP handler of the /v1 API.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	cache answerCache
	// leaves are the agent's Connect leaf certificates (connectca.go).
	leaves leafCache
	// stopped is closed by Stop: blocking queries answer at once.
	stopped  chan struct{}
	stopOnce sync.Once
	// blockingQueries counts the blocking queries waiting (see blocking).
	blockingQueries atomic.Int64
	// summaries are the UI's service summaries (ui_catalog.go).
	summaries summaryCache
	// eventTail feeds the UI stream's events topic (ui_events.go).
	eventTail EventTail
	// history serves the UI's history endpoint (ui_history.go).
	history HistorySource
	// eventFeed serves the event feed (eventfeed.go).
	eventFeed EventFeed
}

// New returns the API's handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), stopped: make(chan struct{})}
	s.route("/v1/kv/", s.kv, "GET", "PUT", "DELETE")
	s.route("/v1/txn", s.txn, "PUT")
	s.route("/v1/status/leader", s.statusLeader, "GET")
	s.route("/v1/status/peers", s.statusPeers, "GET")
	s.route("/v1/agent/self", s.agentSelf, "GET")
	s.route("/v1/agent/members", s.agentMembers, "GET")
	s.route("/v1/operator/raft/configuration", s.operatorRaftConfiguration, "GET")
	s.route("/v1/operator/raft/peer", s.operatorRaftRemovePeer, "DELETE")
	s.route("/v1/agent/join/", s.agentJoin, "PUT")
	s.route("/v1/agent/leave", s.agentLeave, "PUT")
	s.route("/v1/agent/force-leave/", s.agentForceLeave, "PUT")

	s.route("/v1/agent/services", s.agentServices, "GET")
	s.route("/v1/agent/service/register", s.agentServiceRegister, "PUT")
	s.route("/v1/agent/service/deregister/", s.agentServiceDeregister, "PUT")
	s.route("/v1/agent/service/maintenance/", s.agentServiceMaintenance, "PUT")
	s.route("/v1/agent/service/", s.agentService, "GET")
	s.route("/v1/agent/checks", s.agentChecks, "GET")
	s.route("/v1/agent/check/register", s.agentCheckRegister, "PUT")
	s.route("/v1/agent/check/deregister/", s.agentCheckDeregister, "PUT")
	s.route("/v1/agent/check/", s.agentCheckTTL, "PUT")
	s.route("/v1/agent/maintenance", s.agentMaintenance, "PUT")
	s.route("/v1/agent/reload", s.agentReload, "PUT")
	s.route("/v1/agent/health/service/id/", s.agentHealthByID, "GET")
	s.route("/v1/agent/health/service/name/", s.agentHealthByName, "GET")

	s.route("/v1/snapshot", s.snapshotEndpoint, "GET", "PUT")
	s.route("/v1/session/create", s.sessionCreate, "PUT")
	s.route("/v1/session/destroy/", s.sessionDestroy, "PUT")
	s.route("/v1/session/renew/", s.sessionRenew, "PUT")
	s.route("/v1/session/info/", s.sessionInfo, "GET")
	s.route("/v1/session/node/", s.sessionNode, "GET")
	s.route("/v1/session/list", s.sessionList, "GET")

	s.route("/v1/event/fire/", s.eventFire, "PUT")
	s.route("/v1/event/list", s.eventList, "GET")

	s.route("/v1/catalog/register", s.catalogRegister, "PUT")
	s.route("/v1/catalog/deregister", s.catalogDeregister, "PUT")
	s.route("/v1/catalog/datacenters", s.catalogDatacenters, "GET")
	s.route("/v1/catalog/nodes", s.catalogNodes, "GET")
	s.route("/v1/catalog/services", s.catalogServices, "GET")
	s.route("/v1/catalog/service/", s.catalogService, "GET")
	s.route("/v1/catalog/node/", s.catalogNode, "GET")
	s.route("/v1/catalog/node-services/", s.catalogNodeServices, "GET")
	s.route("/v1/health/node/", s.healthNode, "GET")
	s.route("/v1/health/checks/", s.healthChecks, "GET")
	s.route("/v1/health/state/", s.healthState, "GET")
	s.route("/v1/health/service/", s.healthService, "GET")
	s.routeQueries()
	s.routeObservability()
	s.routeOperator()
	s.routeCoordinates()
	s.routeConnectCA()
	s.routeACL()
	s.routeACLReplication()
	s.routeUI()
	s.routeMesh()
	s.routeConfigEntries()
	s.routeIntentions()
	s.routeDebug()
	s.routeEventFeed()
	return s
}

// route registers a handler with the methods it accepts; any other method
// gets Consul's 405 with an Allow header.
func (s *Server) route(path string, h func(http.ResponseWriter, *http.Request) error, methods ...string) {
	s.mux.HandleFunc(path, s.measure(path, func(w http.ResponseWriter, r *http.Request) {
		allowed := false
		for _, m := range methods {
			allowed = allowed || r.Method == m
		}
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", strings.Join(append(methods, "OPTIONS"), ","))
			return
		}
		if !allowed {
			w.Header().Set("Allow", strings.Join(methods, ","))
			httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
			return
		}
		if s.cfg.ACL != nil {
			s.serveWithACL(path, w, r, h)
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}))
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = withOrigin(r)
	if s.forwardToDatacenter(w, r) {
		return
	}
	if r.Method == http.MethodGet {
		// Only reads block; they learn of Stop through their context.
		r = r.WithContext(context.WithValue(r.Context(), readScopeKey{},
			&readScope{stopped: s.stopped, blocking: &s.blockingQueries, query: r.URL.Query()}))
	}
	s.mux.ServeHTTP(w, r)
}

// Stop ends the blocking queries, running and to come: each answers at
// once with what it has, as when its wait runs out, so that the agent's
// HTTP servers can shut down without waiting up to ?wait for them. The
// client sees an unchanged index and asks again, of another agent or of
// this one once it is back. Other requests are not affected.
func (s *Server) Stop() { s.stopOnce.Do(func() { close(s.stopped) }) }

// stopping is closed when the Server that serves the request has been
// stopped; it is nil (never ready) outside a Server's requests.
func stopping(ctx context.Context) <-chan struct{} {
	if rs, ok := ctx.Value(readScopeKey{}).(*readScope); ok {
		return rs.stopped
	}
	return nil
}

// apiError is an error with the status code Consul answers it with.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// fail answers a request that failed: the one place where an error
// becomes a status code. The agent's errors say their kind (package
// agenterr) and keep their own messages; log's say why Raft could not
// serve.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var api *apiError
	switch {
	case errors.As(err, &api):
		httpError(w, api.code, api.msg)
	case errors.Is(err, acl.ErrNotFound), acl.IsPermissionDenied(err):
		httpError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, acl.ErrDisabled):
		httpError(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, agenterr.ErrNotFound):
		httpError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, agenterr.ErrInvalid):
		httpError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, agenterr.ErrUnavailable):
		httpError(w, http.StatusInternalServerError, err.Error())
	case errors.Is(err, log.ErrNoServers):
		httpError(w, http.StatusInternalServerError, "No known Consul servers")
	case errors.Is(err, log.ErrInDoubt):
		httpError(w, http.StatusInternalServerError, log.ErrInDoubt.Error())
	case errors.Is(err, log.ErrNoLeader):
		httpError(w, http.StatusInternalServerError, "No cluster leader")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody is left to answer.
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		httpError(w, http.StatusInternalServerError, err.Error())
	}
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(v)
}

// consistency is a read's mode, as Consul's ?stale and ?consistent choose it.
type consistency string

const (
	modeDefault    consistency = "leader"
	modeStale      consistency = "stale"
	modeConsistent consistency = "consistent"
)

// query holds the options every read endpoint accepts.
type query struct {
	mode  consistency
	index uint64
	wait  time.Duration
	// params is the request's query string, parsed once for the handler.
	params url.Values
}

const (
	defaultWait = 5 * time.Minute
	maxWait     = 10 * time.Minute
)

// parseQuery reads ?dc ?stale ?consistent ?index ?wait; bad values are
// Consul's 400s.
func (s *Server) parseQuery(r *http.Request) (query, error) {
	v := queryOf(r)
	q := query{mode: modeDefault, wait: defaultWait, params: v}
	if err := s.checkDCIn(v); err != nil {
		return q, err
	}
	_, stale := v["stale"]
	_, consistent := v["consistent"]
	switch {
	case stale && consistent:
		return q, badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	case stale:
		q.mode = modeStale
	case consistent:
		q.mode = modeConsistent
	}
	if raw := v.Get("index"); raw != "" {
		i, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return q, badRequest("Invalid index")
		}
		q.index = i
	}
	if raw := v.Get("wait"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return q, badRequest("Invalid wait time")
		}
		q.wait = min(d, maxWait)
	}
	return q, nil
}

// checkDC refuses requests for another datacenter, as Consul answers a
// datacenter it has no path to: those are forwarded before they get here
// (remote.go) when the agent has a way to other datacenters.
func (s *Server) checkDC(r *http.Request) error {
	return s.checkDCIn(queryOf(r))
}

// checkDCIn is checkDC on a query string already parsed.
func (s *Server) checkDCIn(v url.Values) error {
	if dc := v.Get("dc"); dc != "" && !strings.EqualFold(dc, s.cfg.Datacenter) {
		return &apiError{http.StatusInternalServerError, "No path to datacenter"}
	}
	return nil
}

// prepareRead applies the read's consistency mode before the data is read.
func (s *Server) prepareRead(r *http.Request, q query, shardID command.Shard) error {
	if q.mode == modeConsistent {
		return s.cfg.Raft.ReadIndex(r.Context(), shardID)
	}
	return nil
}

// The query headers' names in canonical form, so that setMeta, which runs
// on every read, stores them without canonicalizing each one again.
var (
	headerIndex         = http.CanonicalHeaderKey("X-Consul-Index")
	headerKnownLeader   = http.CanonicalHeaderKey("X-Consul-KnownLeader")
	headerLastContact   = http.CanonicalHeaderKey("X-Consul-LastContact")
	headerConsistency   = http.CanonicalHeaderKey("X-Consul-Effective-Consistency")
	headerDefaultPolicy = http.CanonicalHeaderKey("X-Consul-Default-ACL-Policy")
)

// setMeta writes Consul's query headers.
func (s *Server) setMeta(w http.ResponseWriter, q query, shardID command.Shard, index uint64) {
	h := w.Header()
	h[headerIndex] = []string{strconv.FormatUint(index, 10)}
	_, known := s.cfg.Raft.Leader(shardID)
	h[headerKnownLeader] = []string{strconv.FormatBool(known)}
	// Reads are served by this server's own replica, which hears from the
	// leader every heartbeat; with one server it is the leader.
	h[headerLastContact] = []string{"0"}
	h[headerConsistency] = []string{string(q.mode)}
	h[headerDefaultPolicy] = []string{s.defaultACLPolicy()}
}

// blocking runs a read as a blocking query (see the package comment).
// read answers with its index and, when watch is set, a channel closed when
// its data changes.
func blocking[T any](ctx context.Context, q query, read func(watch bool) (T, uint64, <-chan struct{})) (T, uint64) {
	// A plain read first: it takes the projection's lock shared, and a
	// woken waiter usually finds its answer changed and needs nothing more.
	v, idx, _ := read(false)
	if q.index == 0 || idx > q.index {
		return v, idx
	}
	var n *atomic.Int64
	if rs, ok := ctx.Value(readScopeKey{}).(*readScope); ok {
		n = rs.blocking
	}
	if n != nil {
		n.Add(1)
		defer n.Add(-1)
	}
	stop := stopping(ctx)
	wait := q.wait
	if wait > 0 {
		wait += rand.N(wait/16 + 1)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	// A waiting read's token is resolved again at every wake and every
	// recheckEvery, so a revoked token's read ends (403) within that.
	token := watchToken(ctx)
	defer token.stop()
	for {
		var changed <-chan struct{}
		v, idx, changed = read(true)
		if idx > q.index {
			return v, idx
		}
		select {
		case <-changed:
			if token.revoked() {
				return v, idx
			}
			if v, idx, _ = read(false); idx > q.index {
				return v, idx
			}
		case <-token.tick:
			if token.revoked() {
				return v, idx
			}
		case <-timer.C:
			v, idx, _ = read(false)
			return v, idx
		case <-stop:
			v, idx, _ = read(false)
			return v, idx
		case <-ctx.Done():
			return v, idx
		}
	}
}
