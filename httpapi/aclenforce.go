package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// ACL enforcement: every request's token is resolved once, in route,
// before its handler runs; the handlers ask this file's helpers, one or two
// lines each, and never the resolver. With Config.ACL nil (ACLs disabled)
// nothing here runs: no token is read, no list is copied.

// headerFilteredByACLs tells a client that a list lacks items its token may
// not see (Consul's ResultsFilteredByACLs).
const headerFilteredByACLs = "X-Consul-Results-Filtered-By-ACLs"

// requestToken is the token a request presents, looked for where Consul
// looks, in its order: ?token, then X-Consul-Token, then an Authorization
// header of scheme Bearer (any case) with a non-empty value. "" is no
// token: the agent's default token applies.
func requestToken(r *http.Request) string {
	if strings.Contains(r.URL.RawQuery, "token=") {
		if t := queryOf(r).Get("token"); t != "" {
			return t
		}
	}
	if t := r.Header.Get("X-Consul-Token"); t != "" {
		return t
	}
	auth := r.Header.Get("Authorization")
	scheme, value, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(value)
}

// requestACL is what enforcement keeps of a request when ACLs are on.
type requestACL struct {
	// presented is whether the request named a token: the filtered-by-ACLs
	// header is kept from anonymous requests, as Consul does, so as not to
	// tell strangers that there is more to see.
	presented bool
	secret    string
	// guard, on a blocking read, answers 403 in place of the handler when
	// the token is revoked while the read waits.
	guard *revocationGuard
}

type requestACLKey struct{}

func aclOf(ctx context.Context) *requestACL {
	ra, _ := ctx.Value(requestACLKey{}).(*requestACL)
	return ra
}

// authenticate resolves the request's token and returns the request
// carrying its identity (acl.WithIdentity), and the writer the handler
// must answer through; an unknown token is refused here, before any
// handler runs.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, error) {
	secret := requestToken(r)
	id, err := s.cfg.ACL.Resolve(secret)
	if err != nil {
		return w, r, err
	}
	if id.SecretID == "" {
		// Forwarded to a server by a client agent's RPC.
		id.SecretID = secret
	}
	if id.Authorizer == nil {
		id.Authorizer = acl.DenyAll()
	}
	ra := &requestACL{presented: secret != "", secret: secret}
	if q := queryOf(r); r.Method == http.MethodGet && (q.Has("index") || q.Has("hash")) {
		ra.guard = &revocationGuard{ResponseWriter: w, resolver: s.cfg.ACL, secret: secret}
		w = ra.guard
	}
	ctx := acl.WithIdentity(context.WithValue(r.Context(), requestACLKey{}, ra), id)
	return w, r.WithContext(ctx), nil
}

// authorize is the check of a single permission of the request's identity:
// nil, or the *acl.PermissionDeniedError that fail answers 403.
func authorize(r *http.Request, res acl.Resource, name string, need acl.Access) error {
	if aclOf(r.Context()) == nil {
		return nil
	}
	return acl.IdentityFrom(r.Context()).Check(res, name, need)
}

// authorizeCommand is acl.AuthorizeCommand for the request's identity,
// reading names from this agent's projections.
func (s *Server) authorizeCommand(r *http.Request, cmd command.Command) error {
	if aclOf(r.Context()) == nil {
		return nil
	}
	return acl.AuthorizeCommand(acl.IdentityFrom(r.Context()), cmd, projections.ACLState{Catalog: s.cfg.Catalog, KV: s.cfg.KV})
}

// aclFilter returns the items of list the request's identity may see,
// visible deciding for each; it says so in the answer's headers when any
// was removed. The list is returned as is when nothing is removed.
func aclFilter[T any](w http.ResponseWriter, r *http.Request, list []T, visible func(a acl.Authorizer, v T) bool) []T {
	ra := aclOf(r.Context())
	if ra == nil {
		return list
	}
	a := acl.IdentityFrom(r.Context()).Authorizer
	for i, v := range list {
		if visible(a, v) {
			continue
		}
		// The first item removed: copy the kept ones from here on.
		out := append(make([]T, 0, len(list)-1), list[:i]...)
		for _, v := range list[i+1:] {
			if visible(a, v) {
				out = append(out, v)
			}
		}
		markFiltered(w, ra)
		return out
	}
	return list
}

// aclFilterMap is aclFilter for a map-shaped answer.
func aclFilterMap[T any](w http.ResponseWriter, r *http.Request, m map[string]T, visible func(a acl.Authorizer, k string, v T) bool) map[string]T {
	ra := aclOf(r.Context())
	if ra == nil {
		return m
	}
	a := acl.IdentityFrom(r.Context()).Authorizer
	var out map[string]T
	for k, v := range m {
		if visible(a, k, v) {
			continue
		}
		if out == nil {
			out = make(map[string]T, len(m))
			for k, v := range m {
				out[k] = v
			}
		}
		delete(out, k)
	}
	if out == nil {
		return m
	}
	markFiltered(w, ra)
	return out
}

func markFiltered(w http.ResponseWriter, ra *requestACL) {
	if ra.presented {
		w.Header().Set(headerFilteredByACLs, "true")
	}
}

// canRead is the visibility rule of a list's items named by one resource.
func canRead(res acl.Resource) func(a acl.Authorizer, name string) bool {
	return func(a acl.Authorizer, name string) bool { return a.Allowed(res, name, acl.Read) }
}

// revocationGuard stands between a blocking read's handler and the client:
// when the token is found revoked while the read waits, it discards the
// handler's answer and the request is answered 403 instead. An answer the
// handler has begun is sent whole.
type revocationGuard struct {
	http.ResponseWriter
	resolver acl.Resolver
	secret   string

	mu      sync.Mutex
	started bool
	revoked error
}

// recheck resolves the token again; it reports true, and keeps the refusal
// for the answer, when the token no longer resolves.
func (g *revocationGuard) recheck() bool {
	if _, err := g.resolver.Resolve(g.secret); err != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		if !g.started {
			g.revoked = err
			return true
		}
	}
	return false
}

// refusal is the error the request is answered with in place of the
// handler's answer, nil when the token was not revoked.
func (g *revocationGuard) refusal() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.revoked
}

func (g *revocationGuard) pass() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.started = g.started || g.revoked == nil
	return g.revoked == nil
}

func (g *revocationGuard) WriteHeader(code int) {
	if g.pass() {
		g.ResponseWriter.WriteHeader(code)
	}
}

func (g *revocationGuard) Write(b []byte) (int, error) {
	if g.pass() {
		return g.ResponseWriter.Write(b)
	}
	return len(b), nil
}

func (g *revocationGuard) Flush() {
	if f, ok := g.ResponseWriter.(http.Flusher); ok && g.pass() {
		f.Flush()
	}
}

// tokenWatch is a waiting read's watch over its token: tick fires every
// recheckEvery (never without ACLs), and at each tick, and at each wake,
// the read asks revoked and ends when it says so (the guard then answers
// 403).
type tokenWatch struct {
	tick   <-chan time.Time
	guard  *revocationGuard
	ticker *time.Ticker
}

func watchToken(ctx context.Context) tokenWatch {
	ra := aclOf(ctx)
	if ra == nil || ra.guard == nil {
		return tokenWatch{}
	}
	t := time.NewTicker(recheckEvery)
	return tokenWatch{tick: t.C, guard: ra.guard, ticker: t}
}

// revoked resolves the token again; true when it no longer resolves.
func (tw tokenWatch) revoked() bool { return tw.guard != nil && tw.guard.recheck() }

func (tw tokenWatch) stop() {
	if tw.ticker != nil {
		tw.ticker.Stop()
	}
}

// recheckEvery is how often a waiting blocking read resolves its token
// again.
const recheckEvery = time.Second

// serveWithACL runs a handler for a request whose token is resolved first;
// it is route's path when ACLs are on.
func (s *Server) serveWithACL(path string, w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request) error) {
	hw, r, err := s.authenticate(w, r)
	if err == nil {
		err = s.checkRoute(path, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = h(hw, r)
	if ra := aclOf(r.Context()); ra.guard != nil {
		if refused := ra.guard.refusal(); refused != nil {
			// Nothing of the discarded answer goes out, its headers
			// neither.
			clear(w.Header())
			s.fail(w, r, refused)
			return
		}
	}
	if err != nil {
		s.fail(hw, r, err)
	}
}

// routeRule is the one permission an endpoint needs whatever it is asked,
// checked before its handler runs.
type routeRule struct {
	res  acl.Resource
	need acl.Access
	// ofAgent names the agent's own node (agent and node rules about this
	// agent); other segmented rules are checked in their handlers.
	ofAgent bool
}

// routeRules are the endpoints whose permission does not depend on what
// they are asked, by path and method, as Consul's endpoints check them.
// Endpoints absent here either need no token (status, datacenters, CA
// roots) or check in their handlers what they are asked about.
var routeRules = map[string]map[string]routeRule{
	"/v1/agent/self":         {"GET": {acl.ResourceAgent, acl.Read, true}},
	"/v1/agent/metrics":      {"GET": {acl.ResourceAgent, acl.Read, true}},
	"/v1/agent/monitor":      {"GET": {acl.ResourceAgent, acl.Read, true}},
	"/v1/agent/reload":       {"PUT": {acl.ResourceAgent, acl.Write, true}},
	"/v1/agent/join/":        {"PUT": {acl.ResourceAgent, acl.Write, true}},
	"/v1/agent/leave":        {"PUT": {acl.ResourceAgent, acl.Write, true}},
	"/v1/agent/maintenance":  {"PUT": {acl.ResourceNode, acl.Write, true}},
	"/v1/agent/force-leave/": {"PUT": {acl.ResourceOperator, acl.Write, false}},
	"/v1/agent/host":         {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/debug/pprof/":          {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/debug/pprof/cmdline":   {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/debug/pprof/profile":   {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/debug/pprof/symbol":    {"GET": {acl.ResourceOperator, acl.Read, false}, "POST": {acl.ResourceOperator, acl.Read, false}},
	"/debug/pprof/trace":     {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/v1/agent/token/":       {"PUT": {acl.ResourceAgent, acl.Write, true}},

	"/v1/operator/raft/configuration":   {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/v1/operator/raft/peer":            {"DELETE": {acl.ResourceOperator, acl.Write, false}},
	"/v1/operator/raft/transfer-leader": {"POST": {acl.ResourceOperator, acl.Write, false}},
	"/v1/operator/autopilot/health":     {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/v1/operator/autopilot/state":      {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/v1/operator/usage":                {"GET": {acl.ResourceOperator, acl.Read, false}},
	"/v1/operator/autopilot/configuration": {
		"GET": {acl.ResourceOperator, acl.Read, false},
		"PUT": {acl.ResourceOperator, acl.Write, false},
	},
	"/v1/operator/keyring": {
		"GET":    {acl.ResourceKeyring, acl.Read, false},
		"POST":   {acl.ResourceKeyring, acl.Write, false},
		"PUT":    {acl.ResourceKeyring, acl.Write, false},
		"DELETE": {acl.ResourceKeyring, acl.Write, false},
	},
	"/v1/connect/ca/configuration": {
		"GET": {acl.ResourceOperator, acl.Read, false},
		"PUT": {acl.ResourceOperator, acl.Write, false},
	},
	// A snapshot holds every secret of the cluster: management only.
	"/v1/snapshot": {
		"GET": {acl.ResourceACL, acl.Write, false},
		"PUT": {acl.ResourceACL, acl.Write, false},
	},
}

// checkRoute applies routeRules to a request of the route registered as
// path.
func (s *Server) checkRoute(path string, r *http.Request) error {
	rule, ok := routeRules[path][r.Method]
	if !ok {
		return nil
	}
	name := ""
	if rule.ofAgent {
		name = s.agentNode()
	}
	return authorize(r, rule.res, name, rule.need)
}

// agentNode is this agent's node name, what agent rules about it name.
func (s *Server) agentNode() string {
	if s.cfg.Agent == nil {
		return ""
	}
	return s.cfg.Agent.NodeName()
}

// canReadKey is the visibility of a key/value entry.
func canReadKey(a acl.Authorizer, e *event.KVEntry) bool {
	return a.Allowed(acl.ResourceKey, e.Key, acl.Read)
}

// txnRefusal is a transaction refused by the rules for one of its
// operations, answered as Consul does: 409 with the operation's index and
// the permission it lacks.
func txnRefusal(err error) (txnResponse, bool) {
	op, ok := acl.AsOpError(err)
	if !ok {
		return txnResponse{}, false
	}
	return txnResponse{Errors: []command.KVTxnError{{OpIndex: op.Index, What: op.Error()}}}, true
}

// The visibility rules of listed things, as Consul filters them.

func canReadNode(a acl.Authorizer, n *event.Node) bool {
	return a.Allowed(acl.ResourceNode, n.Node, acl.Read)
}

// canReadInstance: a service instance is seen with read on its service and
// on its node.
func canReadInstance(a acl.Authorizer, in projections.Instance) bool {
	return a.Allowed(acl.ResourceService, in.Service.Service, acl.Read) && a.Allowed(acl.ResourceNode, in.Node.Node, acl.Read)
}

// canReadCheck: a check is seen with read on its node, and on its service
// for a service's check.
func canReadCheck(a acl.Authorizer, c *event.Check) bool {
	return a.Allowed(acl.ResourceNode, c.Node, acl.Read) &&
		(c.ServiceID == "" || a.Allowed(acl.ResourceService, c.ServiceName, acl.Read))
}

func canReadCoordinate(a acl.Authorizer, c CoordinateEntry) bool {
	return a.Allowed(acl.ResourceNode, c.Node, acl.Read)
}

// aclFilterNode is a node's answer as the request may see it: nothing
// without read on the node; else its services and checks it may read.
func aclFilterNode(w http.ResponseWriter, r *http.Request, info *projections.NodeInfo) *projections.NodeInfo {
	ra := aclOf(r.Context())
	if ra == nil || info == nil {
		return info
	}
	a := acl.IdentityFrom(r.Context()).Authorizer
	if !a.Allowed(acl.ResourceNode, info.Node.Node, acl.Read) {
		markFiltered(w, ra)
		return nil
	}
	out := *info
	out.Services = aclFilter(w, r, info.Services, func(a acl.Authorizer, sv *event.Service) bool {
		return a.Allowed(acl.ResourceService, sv.Service, acl.Read)
	})
	out.Checks = aclFilter(w, r, info.Checks, canReadCheck)
	return &out
}

// redactedToken stands for a prepared query's token to those who may not
// manage ACLs, as Consul's.
const redactedToken = "<hidden>"

// aclQueries are the prepared queries the request may see: those whose
// name it may read (an unnamed query only with acl:write), with their
// token hidden unless it may manage ACLs.
func aclQueries(w http.ResponseWriter, r *http.Request, list []*event.PreparedQuery) []*event.PreparedQuery {
	if aclOf(r.Context()) == nil {
		return list
	}
	a := acl.IdentityFrom(r.Context()).Authorizer
	manage := a.Allowed(acl.ResourceACL, "", acl.Write)
	list = aclFilter(w, r, list, func(a acl.Authorizer, q *event.PreparedQuery) bool {
		return manage || (q.Name != "" && a.Allowed(acl.ResourceQuery, q.Name, acl.Read))
	})
	if manage {
		return list
	}
	out := make([]*event.PreparedQuery, len(list))
	for i, q := range list {
		c := *q
		if c.Token != "" {
			c.Token = redactedToken
		}
		out[i] = &c
	}
	return out
}

// The rules of the agent's own services and checks (/v1/agent/...), which
// the agent then writes to the catalog with its own token.

// docString is a string field of a registration document, its name
// matched as Consul's decoder matches it: in any case, with or without
// underscores ("ServiceID", "service_id").
func docString(doc any, field string) string {
	m, _ := doc.(map[string]any)
	for k, v := range m {
		if strings.EqualFold(strings.ReplaceAll(k, "_", ""), field) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// authorizeLocalService: registering a service needs write on its name,
// and on the name of the instance it replaces.
func (s *Server) authorizeLocalService(r *http.Request, doc any) error {
	if aclOf(r.Context()) == nil {
		return nil
	}
	name := docString(doc, "name")
	if err := authorize(r, acl.ResourceService, name, acl.Write); err != nil {
		return err
	}
	id := docString(doc, "id")
	if id == "" {
		id = name
	}
	if la := s.cfg.Local; la != nil {
		if old, ok := la.Service(id); ok && old.Service != name {
			return authorize(r, acl.ResourceService, old.Service, acl.Write)
		}
	}
	return nil
}

// authorizeLocalServiceID: changing a registered service needs write on
// its name; an unknown one is left to the handler's 404.
func (s *Server) authorizeLocalServiceID(r *http.Request, id string) error {
	if aclOf(r.Context()) == nil || s.cfg.Local == nil {
		return nil
	}
	if sv, ok := s.cfg.Local.Service(id); ok {
		return authorize(r, acl.ResourceService, sv.Service, acl.Write)
	}
	return nil
}

// authorizeLocalCheck: a check of a service needs write on the service,
// a node-level check write on the agent's node. The check is named by its
// service (registration) or its ID (updates, deregistration).
func (s *Server) authorizeLocalCheck(r *http.Request, serviceID, checkID string) error {
	if aclOf(r.Context()) == nil || s.cfg.Local == nil {
		return nil
	}
	if checkID != "" {
		c, ok := s.cfg.Local.Checks()[checkID]
		if !ok {
			return nil
		}
		serviceID = c.ServiceID
	}
	if serviceID != "" {
		if sv, ok := s.cfg.Local.Service(serviceID); ok {
			return authorize(r, acl.ResourceService, sv.Service, acl.Write)
		}
	}
	return authorize(r, acl.ResourceNode, s.agentNode(), acl.Write)
}

// defaultPolicy is what a resolver may tell of the default policy ("allow"
// or "deny"), for X-Consul-Default-ACL-Policy.
type defaultPolicy interface{ DefaultPolicy() string }

// defaultACLPolicy is the X-Consul-Default-ACL-Policy of every read:
// "allow" with ACLs disabled, as Consul answers, else the resolver's.
func (s *Server) defaultACLPolicy() string {
	if p, ok := s.cfg.ACL.(defaultPolicy); ok {
		return p.DefaultPolicy()
	}
	return "allow"
}
