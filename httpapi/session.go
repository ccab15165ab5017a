package httpapi

import (
	"encoding/json"
	"fmt"
	"github.com/heraldhq/herald/acl"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/log/command"
)

// Consul's session limits and defaults.
const (
	sessionTTLMin        = 10 * time.Second
	sessionTTLMax        = 24 * time.Hour
	defaultLockDelay     = 15 * time.Second
	maxLockDelay         = 60 * time.Second
	sessionTTLMultiplier = 2 // a TTL session lives up to twice its TTL, as in Consul
)

// apiSession is Consul's SessionEntry JSON.
type apiSession struct {
	ID            string
	Name          string
	Node          string
	LockDelay     int64
	Behavior      string
	TTL           string
	NodeChecks    []string
	ServiceChecks []event.ServiceCheck
	CreateIndex   uint64
	ModifyIndex   uint64
	// Checks, Consul's deprecated name for node checks, is left out as
	// Consul leaves it out once a create has moved it to NodeChecks.
}

func toSession(s *event.Session) apiSession {
	return apiSession{ID: s.ID, Name: s.Name, Node: s.Node, LockDelay: s.LockDelay, Behavior: s.Behavior, TTL: s.TTL,
		NodeChecks: strs(s.NodeChecks), ServiceChecks: s.ServiceChecks,
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex}
}

func toSessions(list []*event.Session) []apiSession {
	out := make([]apiSession, len(list))
	for i, s := range list {
		out[i] = toSession(s)
	}
	return out
}

// lockDelay reads Consul's LockDelay: a duration string, or a number that
// is seconds when small (Consul's rule) and nanoseconds otherwise.
func lockDelay(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return defaultLockDelay, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	var d time.Duration
	switch v := v.(type) {
	case float64:
		d = time.Duration(v)
		if v < 1000 {
			d = time.Duration(v) * time.Second
		}
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("invalid LockDelay %q", v)
		}
		d = p
	default:
		return 0, fmt.Errorf("invalid LockDelay %v", v)
	}
	if d < 0 || d > maxLockDelay {
		return 0, fmt.Errorf("LockDelay must be between 0 and %v", maxLockDelay)
	}
	return d, nil
}

func (s *Server) sessionCreate(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	var req struct {
		Name          string
		Node          string
		LockDelay     json.RawMessage
		Behavior      string
		TTL           string
		Checks        []string
		NodeChecks    []string
		ServiceChecks []event.ServiceCheck
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			return err
		}
	}
	sess := event.Session{ID: event.NewUUID(), Name: req.Name, Node: req.Node, Behavior: req.Behavior, TTL: req.TTL,
		ServiceChecks: req.ServiceChecks}
	if sess.Node == "" {
		sess.Node = s.cfg.Agent.NodeName()
	}
	switch sess.Behavior {
	case "":
		sess.Behavior = "release"
	case "release", "delete":
	default:
		return badRequest("Invalid Behavior setting '%s'", sess.Behavior)
	}
	delay, err := lockDelay(req.LockDelay)
	if err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	sess.LockDelay = int64(delay)
	now := s.cfg.Now()
	if sess.TTL != "" {
		ttl, err := time.ParseDuration(sess.TTL)
		if err != nil {
			return badRequest("Request decode failed: invalid TTL %q", sess.TTL)
		}
		if ttl != 0 && (ttl < sessionTTLMin || ttl > sessionTTLMax) {
			return badRequest("Invalid Session TTL '%s', must be between [%v=%v]", sess.TTL, sessionTTLMin, sessionTTLMax)
		}
		if ttl > 0 {
			sess.Deadline = now.Add(sessionTTLMultiplier * ttl).UnixNano()
		}
	}
	sess.NodeChecks = sessionNodeChecks(req.NodeChecks, req.Checks)
	if err := s.checkSessionHealth(&sess); err != nil {
		return err
	}
	if _, err := s.propose(r, command.Command{Time: now.UnixNano(), Body: &command.SessionCreateBody{Session: sess}},
		http.StatusInternalServerError); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"ID": sess.ID})
}

// sessionNodeChecks is the node checks a new session depends on, given the
// NodeChecks and Checks (their pre-1.7 name) of the request, nil when
// absent. It follows Consul's rules: each defaults to serfHealth; an empty
// Checks empties NodeChecks too (the old way to ask for no checks); Checks
// that are only the default, or beside an empty NodeChecks, are dropped.
// What remains of Checks joins NodeChecks, where Consul keeps it apart.
func sessionNodeChecks(nodeChecks, checks []string) []string {
	def := []string{health.SerfCheckID}
	if nodeChecks == nil {
		nodeChecks = def
	}
	if checks == nil {
		checks = def
	}
	switch {
	case len(checks) == 0:
		return []string{}
	case slices.Equal(checks, def), len(nodeChecks) == 0:
		return nodeChecks
	}
	out := slices.Clone(nodeChecks)
	for _, c := range checks {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// checkSessionHealth refuses a session whose node is unknown or whose
// checks are missing or critical, with Consul's messages.
func (s *Server) checkSessionHealth(sess *event.Session) error {
	info, _, _ := s.cfg.Catalog.Node(sess.Node, false)
	var checks []*event.Check
	if info != nil {
		checks = info.Checks
	}
	if err := health.CheckSession(sess, info != nil, checks); err != nil {
		return &apiError{http.StatusInternalServerError, err.Error()}
	}
	return nil
}

func (s *Server) sessionDestroy(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/session/destroy/")
	if id == "" {
		return badRequest("Missing session")
	}
	if _, err := s.propose(r, command.Command{Body: &command.SessionDestroyBody{ID: id}}, http.StatusInternalServerError); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, true)
}

func (s *Server) sessionRenew(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/session/renew/")
	sess := s.cfg.KV.Session(id)
	if sess == nil {
		return &apiError{http.StatusNotFound, fmt.Sprintf("Session id '%s' not found", id)}
	}
	if sess.TTL != "" {
		ttl, _ := time.ParseDuration(sess.TTL)
		now := s.cfg.Now()
		if _, err := s.propose(r, command.Command{Time: now.UnixNano(),
			Body: &command.SessionRenewBody{ID: id, Deadline: now.Add(sessionTTLMultiplier * ttl).UnixNano()}},
			http.StatusNotFound); err != nil {
			return err
		}
	}
	if sess = s.cfg.KV.Session(id); sess == nil {
		return &apiError{http.StatusNotFound, fmt.Sprintf("Session id '%s' not found", id)}
	}
	return writeJSON(w, http.StatusOK, []apiSession{toSession(sess)})
}

// readSessions serves the session reads, blocking included.
func (s *Server) readSessions(w http.ResponseWriter, r *http.Request, keep func(*event.Session) bool) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	if err := s.prepareRead(r, q, command.ShardKV); err != nil {
		return err
	}
	list, index := blocking(r.Context(), q, func(watch bool) ([]*event.Session, uint64, <-chan struct{}) {
		return s.cfg.KV.Sessions(keep, watch)
	})
	s.setMeta(w, q, command.ShardKV, index)
	list = aclFilter(w, r, list, func(a acl.Authorizer, sess *event.Session) bool {
		return a.Allowed(acl.ResourceSession, sess.Node, acl.Read)
	})
	return writeJSON(w, http.StatusOK, toSessions(list))
}

func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, "/v1/session/info/")
	return s.readSessions(w, r, func(sess *event.Session) bool { return sess.ID == id })
}

func (s *Server) sessionNode(w http.ResponseWriter, r *http.Request) error {
	node := strings.TrimPrefix(r.URL.Path, "/v1/session/node/")
	return s.readSessions(w, r, func(sess *event.Session) bool { return strings.EqualFold(sess.Node, node) })
}

func (s *Server) sessionList(w http.ResponseWriter, r *http.Request) error {
	return s.readSessions(w, r, nil)
}
