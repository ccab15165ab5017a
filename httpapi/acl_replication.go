package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// ACL replication between datacenters (docs/multi-datacenter.md): the
// status endpoint, and the global ACL writes a secondary datacenter sends
// on to the primary, as Consul's secondaries do. Reads stay local: they
// answer from the replicated state.

// ACLReplication is what the status endpoint reads of a server.
type ACLReplication interface {
	// ACLReplication is the status this server's replica holds; enabled
	// when this datacenter replicates, running when its replication loop
	// is running (a leader of the system shard is there to run it).
	ACLReplication() (status command.ACLReplicationStatus, enabled, running bool, err error)
}

// apiACLReplicationStatus is Consul's ACLReplicationStatus.
type apiACLReplicationStatus struct {
	Enabled              bool
	Running              bool
	SourceDatacenter     string
	ReplicationType      string
	ReplicatedIndex      uint64
	ReplicatedRoleIndex  uint64
	ReplicatedTokenIndex uint64
	LastSuccess          time.Time
	LastError            time.Time
	LastErrorMessage     string
}

func (s *Server) routeACLReplication() {
	// Consul asks no permission of this read: the status reveals nothing
	// secret and health checks poll it (no routeRules entry on purpose).
	s.aclRoute("/v1/acl/replication", s.aclReplicationStatus, "GET")
}

func (s *Server) aclReplicationStatus(w http.ResponseWriter, r *http.Request) error {
	rep, ok := s.cfg.ACLServer.(ACLReplication)
	if !ok {
		// A client agent: one of its servers answers, as Consul's RPC
		// does.
		if s.cfg.Remote == nil {
			return internalError("no server to ask for the ACL replication status")
		}
		s.cfg.Remote.Forward(w, r, s.cfg.Datacenter)
		return nil
	}
	st, enabled, running, err := rep.ACLReplication()
	if err != nil {
		return err
	}
	out := apiACLReplicationStatus{Enabled: enabled, Running: running, SourceDatacenter: st.SourceDatacenter,
		ReplicationType: st.ReplicationType, ReplicatedIndex: st.ReplicatedIndex, ReplicatedRoleIndex: st.ReplicatedRoleIndex,
		ReplicatedTokenIndex: st.ReplicatedTokenIndex, LastSuccess: unixTime(st.LastSuccess), LastError: unixTime(st.LastError),
		LastErrorMessage: st.LastErrorMessage}
	return writeJSON(w, http.StatusOK, out)
}

// unixTime is a time kept as Unix nanoseconds, the zero time for 0.
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// forwardToPrimary sends a request for ACL state that is the primary
// datacenter's to the primary, when this datacenter is a secondary, and
// reports whether it did. Writes of policies, roles, global tokens and
// the bootstrap go there, and replication brings the records back; a
// local token (Local: true) is written here. As in Consul, the primary
// answers, and the record reaches this datacenter's reads once
// replicated. Reads go there only for tokens this datacenter does not
// hold (tokenReadAtPrimary).
func (s *Server) forwardToPrimary(w http.ResponseWriter, r *http.Request) bool {
	primary := s.cfg.ACLPrimaryDatacenter
	if primary == "" || primary == s.cfg.Datacenter || s.cfg.Remote == nil {
		return false
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet:
		if !s.tokenReadAtPrimary(r) {
			return false
		}
	case strings.HasPrefix(path, "/v1/acl/policy"), strings.HasPrefix(path, "/v1/acl/role"), path == "/v1/acl/bootstrap":
	case strings.HasPrefix(path, "/v1/acl/token"):
		if s.localTokenWrite(r) {
			return false
		}
	default:
		return false
	}
	s.sendToPrimary(w, r, primary)
	return true
}

// tokenReadAtPrimary reports whether a token read on a secondary is the
// primary's to answer: a token this datacenter does not hold (a global
// token not replicated yet, or any global token when
// acl.enable_token_replication is off, which the secondary's resolver asks
// the primary for), and the token list when tokens are not replicated,
// as Consul's secondaries send token reads to the primary when they do
// not replicate tokens. Without it, a token that works here would read
// as "ACL not found" from /v1/acl/token/self.
func (s *Server) tokenReadAtPrimary(r *http.Request) bool {
	if r.URL.Path == "/v1/acl/tokens" {
		return !s.cfg.ACLTokenReplication
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/v1/acl/token/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return false
	}
	secret := acl.IdentityFrom(r.Context()).SecretID
	if id == "self" && secret == "" {
		return false
	}
	held := false
	s.cfg.ACLState.Read(false, func(v projections.ACLView) {
		if id == "self" {
			held = v.TokenBySecret(secret) != nil
		} else {
			held = v.Token(id) != nil
		}
	})
	return !held
}

// localTokenWrite reports whether a token write is of a local token: an
// existing token's own kind, else the body's Local (a new token).
func (s *Server) localTokenWrite(r *http.Request) bool {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1/acl/token"), "/")
	accessor, _, _ := strings.Cut(rest, "/")
	if accessor != "" {
		var t *event.ACLToken
		s.cfg.ACLState.Read(false, func(v projections.ACLView) { t = v.Token(accessor) })
		if t != nil {
			return t.Local
		}
	}
	if r.Body == nil {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	var req struct{ Local bool }
	return json.Unmarshal(body, &req) == nil && req.Local
}

// ACLPolicyHash, ACLRoleHash and ACLTokenHash are the Hash the API shows
// of a record, which replication compares with the primary's.
func ACLPolicyHash(p *event.ACLPolicy) []byte { return toAPIPolicy(p, false).Hash }

func ACLRoleHash(r *event.ACLRole) []byte {
	return recordHash(r.Name, r.Description, r.Policies, r.ServiceIdentities, r.NodeIdentities)
}

func ACLTokenHash(t *event.ACLToken) []byte {
	return recordHash(t.Description, t.Policies, t.Roles, t.ServiceIdentities, t.NodeIdentities, t.Local)
}
