package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/preparedquery"
	"github.com/heraldhq/herald/projections"
)

// The ACL endpoints, /v1/acl/*: bootstrap, tokens, policies and roles.
// Writes are the system shard's commands; the state machine checks what
// depends on the state (names, links, the built-ins) and this file what a
// request alone decides, as Consul's ACL endpoint does before its Raft
// apply. Reads come from the agent's ACL projection, which knows tokens by
// their SecretHash: a server reads a SecretID from its replica for a
// caller with acl:write; a client agent has none to read and shows
// "<hidden>", as Consul shows a SecretID to a caller without acl:write.
// With ACLs disabled every endpoint answers 401 "ACL support disabled".

// ACLServer is what the ACL endpoints read of a server's replica of the
// system shard; nil on a client agent.
type ACLServer interface {
	// ACLTokenSecret is the SecretID of the token with that AccessorID.
	ACLTokenSecret(accessor string) (secret string, ok bool, err error)
	// ACLBootstrapResetIndex is the reset index of the data dir's
	// acl-bootstrap-reset file, 0 without one.
	ACLBootstrapResetIndex() uint64
}

// redactedSecret is the SecretID shown to a caller that may not see it.
const redactedSecret = "<hidden>"

// aclTokenMinExpirationTTL and aclTokenMaxExpirationTTL bound a token's
// life, as Consul's defaults do.
var (
	aclTokenMinExpirationTTL = time.Minute
	aclTokenMaxExpirationTTL = 24 * time.Hour
)

func (s *Server) routeACL() {
	s.aclRoute("/v1/acl/bootstrap", s.aclBootstrap, "PUT")
	s.aclRoute("/v1/acl/token", s.aclTokenCreate, "PUT")
	s.aclRoute("/v1/acl/token/", s.aclTokenSpecific, "GET", "PUT", "DELETE")
	s.aclRoute("/v1/acl/tokens", s.aclTokenList, "GET")
	s.aclRoute("/v1/acl/policy", s.aclPolicyCreate, "PUT")
	s.aclRoute("/v1/acl/policy/", s.aclPolicySpecific, "GET", "PUT", "DELETE")
	s.aclRoute("/v1/acl/policies", s.aclPolicyList, "GET")
	s.aclRoute("/v1/acl/role", s.aclRoleCreate, "PUT")
	s.aclRoute("/v1/acl/role/", s.aclRoleSpecific, "GET", "PUT", "DELETE")
	s.aclRoute("/v1/acl/roles", s.aclRoleList, "GET")
}

var errACLDisabled = &apiError{http.StatusUnauthorized, acl.ErrDisabled.Error()}

// errACLNotFound is Consul's answer to a token or policy that is not there.
var errACLNotFound = &apiError{http.StatusForbidden, acl.ErrNotFound.Error()}

// aclRoute is route for an endpoint that needs ACLs enabled.
func (s *Server) aclRoute(path string, h func(http.ResponseWriter, *http.Request) error, methods ...string) {
	s.route(path, func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.ACL == nil || s.cfg.ACLState == nil {
			return errACLDisabled
		}
		if err := s.checkDC(r); err != nil {
			return err
		}
		if s.forwardToPrimary(w, r) {
			return nil
		}
		return h(w, r)
	}, methods...)
}

// aclAllowed checks the request's identity for acl:read or acl:write.
func aclAllowed(r *http.Request, need acl.Access) error {
	if err := acl.IdentityFrom(r.Context()).Check(acl.ResourceACL, "", need); err != nil {
		return &apiError{http.StatusForbidden, err.Error()}
	}
	return nil
}

// canSeeSecrets reports whether the request's identity has acl:write,
// which Consul asks of a caller shown other tokens' SecretIDs.
func canSeeSecrets(r *http.Request) bool { return aclAllowed(r, acl.Write) == nil }

// onlyMethod answers 405 unless the request's method is m, for the
// endpoints that share a route prefix with others.
func onlyMethod(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method == m {
		return true
	}
	w.Header().Set("Allow", m)
	httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
	return false
}

// aclRead answers a read of the projection with Consul's query headers;
// read returns the answer and whether it found what was asked for.
func aclRead[T any](s *Server, w http.ResponseWriter, r *http.Request, read func(v projections.ACLView) T) (T, error) {
	var zero T
	q, err := s.parseQuery(r)
	if err != nil {
		return zero, err
	}
	if err := s.prepareRead(r, q, command.ShardSystem); err != nil {
		return zero, err
	}
	v, index := blocking(r.Context(), q, func(watch bool) (T, uint64, <-chan struct{}) {
		var out T
		index, changed := s.cfg.ACLState.Read(watch, func(v projections.ACLView) { out = read(v) })
		return out, index, changed
	})
	s.setMeta(w, q, command.ShardSystem, index)
	return v, nil
}

// aclWrite proposes an ACL command and returns what it stored; a refusal
// is Consul's 400 with the state machine's message.
func (s *Server) aclWrite(r *http.Request, body command.Body) (*command.ACLResult, error) {
	res, err := s.propose(r, command.Command{Body: body}, http.StatusBadRequest)
	if err != nil {
		return nil, err
	}
	if res.Txn == nil || res.Txn.ACL == nil {
		return &command.ACLResult{}, nil
	}
	return res.Txn.ACL, nil
}

// --- Shapes, as github.com/hashicorp/consul/api decodes them ---

// apiACLToken is Consul's ACLToken, and its ACLTokenListEntry.
type apiACLToken struct {
	CreateIndex       uint64
	ModifyIndex       uint64
	AccessorID        string
	SecretID          string
	Description       string
	Policies          []event.ACLLink            `json:",omitempty"`
	Roles             []event.ACLLink            `json:",omitempty"`
	ServiceIdentities []event.ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []event.ACLNodeIdentity    `json:",omitempty"`
	Local             bool
	ExpirationTime    *time.Time `json:",omitempty"`
	CreateTime        time.Time
	Hash              []byte
	Legacy            bool `json:",omitempty"`
}

// apiACLPolicy is Consul's ACLPolicy, and its ACLPolicyListEntry (which
// has no Rules).
type apiACLPolicy struct {
	ID          string
	Name        string
	Description string
	Rules       string   `json:",omitempty"`
	Datacenters []string `json:",omitempty"`
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
}

// apiACLRole is Consul's ACLRole.
type apiACLRole struct {
	ID                string
	Name              string
	Description       string
	Policies          []event.ACLLink            `json:",omitempty"`
	ServiceIdentities []event.ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []event.ACLNodeIdentity    `json:",omitempty"`
	Hash              []byte
	CreateIndex       uint64
	ModifyIndex       uint64
}

// recordHash is a record's Hash: a digest of what it grants and says,
// without its indexes, so that it changes when the record does.
func recordHash(parts ...any) []byte {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return sum[:]
}

// policyLinks names a record's policy links as the policies are named now.
// A link to a policy this agent does not know is a deleted policy's, left
// out as Consul leaves it out, except in the answer to a write, where the
// agent's projection may not have the newest policies yet: the link is
// shown by ID.
func policyLinks(v projections.ACLView, links []event.ACLLink, justWritten bool) []event.ACLLink {
	var out []event.ACLLink
	for _, l := range links {
		if p := v.Policy(l.ID); p != nil {
			out = append(out, event.ACLLink{ID: p.ID, Name: p.Name})
		} else if justWritten {
			out = append(out, event.ACLLink{ID: l.ID})
		}
	}
	return out
}

func roleLinks(v projections.ACLView, links []event.ACLLink, justWritten bool) []event.ACLLink {
	var out []event.ACLLink
	for _, l := range links {
		if r := v.Role(l.ID); r != nil {
			out = append(out, event.ACLLink{ID: r.ID, Name: r.Name})
		} else if justWritten {
			out = append(out, event.ACLLink{ID: l.ID})
		}
	}
	return out
}

func toAPIToken(v projections.ACLView, t *event.ACLToken, secret string, justWritten bool) apiACLToken {
	out := apiACLToken{CreateIndex: t.CreateIndex, ModifyIndex: t.ModifyIndex, AccessorID: t.AccessorID, SecretID: secret,
		Description: t.Description, Policies: policyLinks(v, t.Policies, justWritten), Roles: roleLinks(v, t.Roles, justWritten),
		ServiceIdentities: t.ServiceIdentities, NodeIdentities: t.NodeIdentities, Local: t.Local,
		CreateTime: time.Unix(0, t.CreateTime).UTC()}
	if t.ExpirationTime != 0 {
		e := time.Unix(0, t.ExpirationTime).UTC()
		out.ExpirationTime = &e
	}
	out.Hash = ACLTokenHash(t)
	return out
}

func toAPIPolicy(p *event.ACLPolicy, withRules bool) apiACLPolicy {
	out := apiACLPolicy{ID: p.ID, Name: p.Name, Description: p.Description, Datacenters: p.Datacenters,
		Hash: recordHash(p.Name, p.Description, p.Rules, p.Datacenters), CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
	if withRules {
		out.Rules = p.Rules
	}
	return out
}

func toAPIRole(v projections.ACLView, r *event.ACLRole, justWritten bool) apiACLRole {
	return apiACLRole{ID: r.ID, Name: r.Name, Description: r.Description, Policies: policyLinks(v, r.Policies, justWritten),
		ServiceIdentities: r.ServiceIdentities, NodeIdentities: r.NodeIdentities,
		Hash: ACLRoleHash(r), CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex}
}

// secretFor is the SecretID a reader is shown of token accessor: the real
// one for a caller with acl:write on a server, "<hidden>" otherwise.
func (s *Server) secretFor(r *http.Request, accessor string) (string, error) {
	if s.cfg.ACLServer == nil || !canSeeSecrets(r) {
		return redactedSecret, nil
	}
	secret, ok, err := s.cfg.ACLServer.ACLTokenSecret(accessor)
	if err != nil || !ok {
		return redactedSecret, err
	}
	return secret, nil
}

// --- Bootstrap ---

func (s *Server) aclBootstrap(w http.ResponseWriter, r *http.Request) error {
	var req struct{ BootstrapSecret string }
	if err := decodeOptionalBody(r, &req); err != nil {
		return err
	}
	secret := req.BootstrapSecret
	if secret == "" {
		secret = event.NewUUID()
	} else if !preparedquery.IsUUID(secret) {
		return badRequest("Invalid Token: SecretID is not a valid UUID")
	}
	var reset uint64
	if s.cfg.ACLServer != nil {
		reset = s.cfg.ACLServer.ACLBootstrapResetIndex()
	}
	now := s.cfg.Now().UnixNano()
	res, err := s.propose(r, command.Command{Time: now, Body: &command.ACLBootstrapBody{
		AccessorID: event.NewUUID(), SecretID: secret, ResetIndex: reset, CreateTime: now}}, refusalIsAnswer)
	if err != nil {
		return err
	}
	if !res.Succeeded {
		if strings.HasPrefix(res.Refusal, "ACL bootstrap no longer allowed") {
			return &apiError{http.StatusForbidden, "Permission denied: " + res.Refusal}
		}
		return badRequest("%s", res.Refusal)
	}
	return s.answerToken(w, r, res.Txn.ACL.Token, secret)
}

// answerToken writes a token just stored, whose SecretID the caller gave
// or was given.
func (s *Server) answerToken(w http.ResponseWriter, r *http.Request, t *event.ACLToken, secret string) error {
	if t == nil {
		return internalError("the token's write answered no token")
	}
	var out apiACLToken
	s.cfg.ACLState.Read(false, func(v projections.ACLView) { out = toAPIToken(v, t, secret, true) })
	return writeJSON(w, http.StatusOK, out)
}

// decodeOptionalBody is decodeBody for an endpoint whose body may be
// empty.
func decodeOptionalBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return badRequest("Failed to read body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}

// --- Tokens ---

// tokenRequest is the body of a token write.
type tokenRequest struct {
	AccessorID        string
	SecretID          string
	Description       string
	Policies          []event.ACLLink
	Roles             []event.ACLLink
	ServiceIdentities []event.ACLServiceIdentity
	NodeIdentities    []event.ACLNodeIdentity
	Local             bool
	ExpirationTTL     ReadableDuration
	ExpirationTime    *time.Time
	// Rules and Type are the legacy ACL system's, refused.
	Rules string
	Type  string
}

// reservedIDPrefix starts the IDs of Consul's built-in records.
const reservedIDPrefix = "00000000-0000-0000-0000-0000000000"

var (
	validServiceIdentityName = regexp.MustCompile(`^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$`)
	validNodeIdentityName    = regexp.MustCompile(`^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$`)
)

const identityNameMaxLength = 256

// checkIdentities checks a token's or role's identities as Consul does,
// and drops duplicates; what is "token" or "role" in the messages.
func checkIdentities(what string, local bool, svc []event.ACLServiceIdentity, nodes []event.ACLNodeIdentity) ([]event.ACLServiceIdentity, []event.ACLNodeIdentity, error) {
	var outSvc []event.ACLServiceIdentity
	for _, si := range svc {
		if si.ServiceName == "" {
			return nil, nil, badRequest("Service identity is missing the service name field on this %s", what)
		}
		if local && len(si.Datacenters) > 0 {
			return nil, nil, badRequest("Service identity %q cannot specify a list of datacenters on a local token", si.ServiceName)
		}
		if len(si.ServiceName) > identityNameMaxLength || !validServiceIdentityName.MatchString(si.ServiceName) {
			return nil, nil, badRequest("Service identity %q has an invalid name. Only alphanumeric characters, '-' and '_' are allowed", si.ServiceName)
		}
		if i := slices.IndexFunc(outSvc, func(o event.ACLServiceIdentity) bool { return o.ServiceName == si.ServiceName }); i >= 0 {
			// Duplicates merge their datacenters; none means all.
			if len(outSvc[i].Datacenters) == 0 || len(si.Datacenters) == 0 {
				outSvc[i].Datacenters = nil
			} else {
				for _, dc := range si.Datacenters {
					if !slices.Contains(outSvc[i].Datacenters, dc) {
						outSvc[i].Datacenters = append(outSvc[i].Datacenters, dc)
					}
				}
			}
			continue
		}
		outSvc = append(outSvc, si)
	}
	var outNodes []event.ACLNodeIdentity
	for _, n := range nodes {
		if n.NodeName == "" {
			return nil, nil, badRequest("Node identity is missing the node name field on this %s", what)
		}
		if n.Datacenter == "" {
			return nil, nil, badRequest("Node identity is missing the datacenter field on this %s", what)
		}
		if len(n.NodeName) > identityNameMaxLength || !validNodeIdentityName.MatchString(n.NodeName) {
			return nil, nil, badRequest("Node identity has an invalid name. Only alphanumeric characters, '-' and '_' are allowed")
		}
		if !slices.Contains(outNodes, n) {
			outNodes = append(outNodes, n)
		}
	}
	return outSvc, outNodes, nil
}

func (s *Server) aclTokenCreate(w http.ResponseWriter, r *http.Request) error {
	if err := aclAllowed(r, acl.Write); err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	return s.createToken(w, r, req)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, req tokenRequest) error {
	for _, id := range []struct{ name, v string }{{"AccessorID", req.AccessorID}, {"SecretID", req.SecretID}} {
		switch {
		case id.v == "":
		case !preparedquery.IsUUID(id.v):
			return badRequest("Invalid Token: %s is not a valid UUID", id.name)
		case strings.HasPrefix(id.v, reservedIDPrefix):
			return badRequest("Invalid Token: UUIDs with the prefix %q are reserved", reservedIDPrefix)
		}
	}
	if req.AccessorID == "" {
		req.AccessorID = event.NewUUID()
	}
	if req.SecretID == "" {
		req.SecretID = event.NewUUID()
	}
	now := s.cfg.Now()
	var expires int64
	if ttl := time.Duration(req.ExpirationTTL); ttl != 0 {
		if ttl < 0 {
			return badRequest("Token Expiration TTL '%s' should be > 0", ttl)
		}
		if req.ExpirationTime != nil && !req.ExpirationTime.IsZero() {
			return badRequest("Token Expiration TTL and Expiration Time cannot both be set")
		}
		e := now.Add(ttl)
		req.ExpirationTime = &e
	}
	if req.ExpirationTime != nil && !req.ExpirationTime.IsZero() {
		if now.After(*req.ExpirationTime) {
			return badRequest("ExpirationTime cannot be before CreateTime")
		}
		switch in := req.ExpirationTime.Sub(now); {
		case in > aclTokenMaxExpirationTTL:
			return badRequest("ExpirationTime cannot be more than %s in the future (was %s)", aclTokenMaxExpirationTTL, in)
		case in < aclTokenMinExpirationTTL:
			return badRequest("ExpirationTime cannot be less than %s in the future (was %s)", aclTokenMinExpirationTTL, in)
		}
		expires = req.ExpirationTime.UnixNano()
	}
	t, err := s.tokenFromRequest(req)
	if err != nil {
		return err
	}
	t.ExpirationTime, t.CreateTime = expires, now.UnixNano()
	out, err := s.aclWrite(r, &command.ACLTokenSetBody{Create: true, SecretID: req.SecretID, Token: t})
	if err != nil {
		return err
	}
	return s.answerToken(w, r, out.Token, req.SecretID)
}

// tokenFromRequest checks what create and update check alike.
func (s *Server) tokenFromRequest(req tokenRequest) (event.ACLToken, error) {
	if req.Rules != "" {
		return event.ACLToken{}, badRequest("Rules cannot be specified for this token")
	}
	if req.Type != "" {
		return event.ACLToken{}, badRequest("Type cannot be specified for this token")
	}
	svc, nodes, err := checkIdentities("token", req.Local, req.ServiceIdentities, req.NodeIdentities)
	if err != nil {
		return event.ACLToken{}, err
	}
	return event.ACLToken{AccessorID: req.AccessorID, Description: req.Description, Policies: req.Policies, Roles: req.Roles,
		ServiceIdentities: svc, NodeIdentities: nodes, Local: req.Local}, nil
}

func (s *Server) aclTokenSpecific(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, "/v1/acl/token/")
	if id == "self" {
		if !onlyMethod(w, r, http.MethodGet) {
			return nil
		}
		return s.aclTokenSelf(w, r)
	}
	if source, ok := strings.CutSuffix(id, "/clone"); ok {
		if !onlyMethod(w, r, http.MethodPut) {
			return nil
		}
		return s.aclTokenClone(w, r, source)
	}
	switch r.Method {
	case http.MethodPut:
		return s.aclTokenUpdate(w, r, id)
	case http.MethodDelete:
		return s.aclTokenDelete(w, r, id)
	}
	if err := aclAllowed(r, acl.Read); err != nil {
		return err
	}
	return s.readToken(w, r, func(v projections.ACLView) *event.ACLToken { return v.Token(id) }, "")
}

// readToken answers the token find returns, or Consul's 403 "ACL not
// found"; with secret set, the caller presented it and is shown it.
func (s *Server) readToken(w http.ResponseWriter, r *http.Request, find func(projections.ACLView) *event.ACLToken, secret string) error {
	type found struct {
		token apiACLToken
		ok    bool
	}
	f, err := aclRead(s, w, r, func(v projections.ACLView) found {
		t := find(v)
		if t == nil {
			return found{}
		}
		return found{toAPIToken(v, t, "", false), true}
	})
	if err != nil {
		return err
	}
	if !f.ok {
		return errACLNotFound
	}
	if secret == "" {
		if secret, err = s.secretFor(r, f.token.AccessorID); err != nil {
			return err
		}
	}
	f.token.SecretID = secret
	return writeJSON(w, http.StatusOK, f.token)
}

func (s *Server) aclTokenSelf(w http.ResponseWriter, r *http.Request) error {
	secret := acl.IdentityFrom(r.Context()).SecretID
	if secret == "" {
		return errACLNotFound
	}
	return s.readToken(w, r, func(v projections.ACLView) *event.ACLToken { return v.TokenBySecret(secret) }, secret)
}

func (s *Server) aclTokenUpdate(w http.ResponseWriter, r *http.Request, id string) error {
	if err := aclAllowed(r, acl.Write); err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.AccessorID != "" && req.AccessorID != id {
		return badRequest("Token Accessor ID in URL and payload do not match")
	}
	if !preparedquery.IsUUID(id) {
		return badRequest("AccessorID is not a valid UUID")
	}
	req.AccessorID = id
	if req.ExpirationTTL != 0 {
		return badRequest("Cannot change expiration time of %s", id)
	}
	t, err := s.tokenFromRequest(req)
	if err != nil {
		return err
	}
	if req.ExpirationTime != nil && !req.ExpirationTime.IsZero() {
		t.ExpirationTime = req.ExpirationTime.UnixNano()
	}
	out, err := s.aclWrite(r, &command.ACLTokenSetBody{SecretID: req.SecretID, Token: t})
	if err != nil {
		return err
	}
	secret := req.SecretID
	if secret == "" {
		if secret, err = s.secretFor(r, id); err != nil {
			return err
		}
	}
	return s.answerToken(w, r, out.Token, secret)
}

func (s *Server) aclTokenClone(w http.ResponseWriter, r *http.Request, id string) error {
	if err := aclAllowed(r, acl.Write); err != nil {
		return err
	}
	var req struct{ Description string }
	if err := decodeOptionalBody(r, &req); err != nil {
		return err
	}
	var source *event.ACLToken
	s.cfg.ACLState.Read(false, func(v projections.ACLView) { source = v.Token(id) })
	if source == nil {
		return errACLNotFound
	}
	clone := tokenRequest{Description: req.Description, Policies: source.Policies, Roles: source.Roles,
		ServiceIdentities: source.ServiceIdentities, NodeIdentities: source.NodeIdentities, Local: source.Local}
	if clone.Description == "" {
		clone.Description = source.Description
	}
	if source.ExpirationTime != 0 {
		e := time.Unix(0, source.ExpirationTime)
		clone.ExpirationTime = &e
	}
	return s.createToken(w, r, clone)
}

func (s *Server) aclTokenDelete(w http.ResponseWriter, r *http.Request, id string) error {
	if err := aclAllowed(r, acl.Write); err != nil {
		return err
	}
	if !preparedquery.IsUUID(id) {
		return badRequest("Accessor ID is missing or an invalid UUID")
	}
	if strings.EqualFold(acl.IdentityFrom(r.Context()).AccessorID, id) {
		return badRequest("Deletion of the request's authorization token is not permitted")
	}
	if _, err := s.aclWrite(r, &command.ACLTokenDeleteBody{AccessorID: id}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, true)
}

func (s *Server) aclTokenList(w http.ResponseWriter, r *http.Request) error {
	if err := aclAllowed(r, acl.Read); err != nil {
		return err
	}
	policy, role := r.URL.Query().Get("policy"), r.URL.Query().Get("role")
	linked := func(links []event.ACLLink, id string) bool {
		return id == "" || slices.ContainsFunc(links, func(l event.ACLLink) bool { return strings.EqualFold(l.ID, id) })
	}
	list, err := aclRead(s, w, r, func(v projections.ACLView) []apiACLToken {
		out := []apiACLToken{}
		for _, t := range v.Tokens() {
			if linked(t.Policies, policy) && linked(t.Roles, role) {
				out = append(out, toAPIToken(v, t, "", false))
			}
		}
		return out
	})
	if err != nil {
		return err
	}
	for i := range list {
		if list[i].SecretID, err = s.secretFor(r, list[i].AccessorID); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, list)
}

// --- Policies ---

type policyRequest struct {
	ID          string
	Name        string
	Description string
	Rules       string
	Datacenters []string
}

func (s *Server) aclPolicyCreate(w http.ResponseWriter, r *http.Request) error {
	return s.writePolicy(w, r, "")
}

func (s *Server) aclPolicySpecific(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, "/v1/acl/policy/")
	if name, ok := strings.CutPrefix(id, "name/"); ok {
		if !onlyMethod(w, r, http.MethodGet) {
			return nil
		}
		return s.readPolicy(w, r, func(v projections.ACLView) *event.ACLPolicy { return v.PolicyByName(name) })
	}
	switch r.Method {
	case http.MethodPut:
		if id == "" {
			return badRequest("Missing policy ID")
		}
		return s.writePolicy(w, r, id)
	case http.MethodDelete:
		if err := aclAllowed(r, acl.Write); err != nil {
			return err
		}
		if _, err := s.aclWrite(r, &command.ACLPolicyDeleteBody{ID: id}); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, true)
	}
	return s.readPolicy(w, r, func(v projections.ACLView) *event.ACLPolicy { return v.Policy(id) })
}

func (s *Server) readPolicy(w http.ResponseWriter, r *http.Request, find func(projections.ACLView) *event.ACLPolicy) error {
	if err := aclAllowed(r, acl.Read); err != nil {
		return err
	}
	p, err := aclRead(s, w, r, func(v projections.ACLView) *event.ACLPolicy { return find(v) })
	if err != nil {
		return err
	}
	if p == nil {
		return errACLNotFound
	}
	return writeJSON(w, http.StatusOK, toAPIPolicy(p, true))
}

// writePolicy creates a policy (id "") or updates the policy id.
func (s *Server) writePolicy(w http.ResponseWriter, r *http.Request, id string) error {
	if err := aclAllowed(r, acl.Write); err != nil {
		return err
	}
	var req policyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != id {
		return badRequest("Policy ID in URL and payload do not match")
	}
	if id != "" && !preparedquery.IsUUID(id) {
		return badRequest("Policy ID invalid UUID")
	}
	if req.Name == "" {
		return badRequest("Invalid Policy: no Name is set")
	}
	if _, err := acl.Parse(req.Rules); err != nil {
		return badRequest("Failed to parse ACL rules: %v", err)
	}
	create := id == ""
	if create {
		id = event.NewUUID()
	}
	out, err := s.aclWrite(r, &command.ACLPolicySetBody{Create: create, Policy: event.ACLPolicy{ID: id, Name: req.Name,
		Description: req.Description, Rules: req.Rules, Datacenters: req.Datacenters}})
	if err != nil {
		return err
	}
	if out.Policy == nil {
		return internalError("the policy's write answered no policy")
	}
	return writeJSON(w, http.StatusOK, toAPIPolicy(out.Policy, true))
}

func (s *Server) aclPolicyList(w http.ResponseWriter, r *http.Request) error {
	if err := aclAllowed(r, acl.Read); err != nil {
		return err
	}
	list, err := aclRead(s, w, r, func(v projections.ACLView) []apiACLPolicy {
		out := []apiACLPolicy{}
		for _, p := range v.Policies() {
			out = append(out, toAPIPolicy(p, false))
		}
		return out
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

// --- Roles ---

type roleRequest struct {
	ID                string
	Name              string
	Description       string
	Policies          []event.ACLLink
	ServiceIdentities []event.ACLServiceIdentity
	NodeIdentities    []event.ACLNodeIdentity
}

func (s *Server) aclRoleCreate(w http.ResponseWriter, r *http.Request) error {
	return s.writeRole(w, r, "")
}

func (s *Server) aclRoleSpecific(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, "/v1/acl/role/")
	if name, ok := strings.CutPrefix(id, "name/"); ok {
		if !onlyMethod(w, r, http.MethodGet) {
			return nil
		}
		return s.readRole(w, r, func(v projections.ACLView) *event.ACLRole { return v.RoleByName(name) })
	}
	switch r.Method {
	case http.MethodPut:
		if id == "" {
			return badRequest("Missing role ID")
		}
		return s.writeRole(w, r, id)
	case http.MethodDelete:
		if err := aclAllowed(r, acl.Write); err != nil {
			return err
		}
		if _, err := s.aclWrite(r, &command.ACLRoleDeleteBody{ID: id}); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, true)
	}
	return s.readRole(w, r, func(v projections.ACLView) *event.ACLRole { return v.Role(id) })
}

// readRole answers a role, or Consul's 404 with no body (which the
// official client reads as "no such role").
func (s *Server) readRole(w http.ResponseWriter, r *http.Request, find func(projections.ACLView) *event.ACLRole) error {
	if err := aclAllowed(r, acl.Read); err != nil {
		return err
	}
	type found struct {
		role apiACLRole
		ok   bool
	}
	f, err := aclRead(s, w, r, func(v projections.ACLView) found {
		if role := find(v); role != nil {
			return found{toAPIRole(v, role, false), true}
		}
		return found{}
	})
	if err != nil {
		return err
	}
	if !f.ok {
		w.WriteHeader(http.StatusNotFound)
		return nil
	}
	return writeJSON(w, http.StatusOK, f.role)
}

func (s *Server) writeRole(w http.ResponseWriter, r *http.Request, id string) error {
	if err := aclAllowed(r, acl.Write); err != nil {
		return err
	}
	var req roleRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != id {
		return badRequest("Role ID in URL and payload do not match")
	}
	if id != "" && !preparedquery.IsUUID(id) {
		return badRequest("Role ID invalid UUID")
	}
	svc, nodes, err := checkIdentities("role", false, req.ServiceIdentities, req.NodeIdentities)
	if err != nil {
		return err
	}
	create := id == ""
	if create {
		id = event.NewUUID()
	}
	out, err := s.aclWrite(r, &command.ACLRoleSetBody{Create: create, Role: event.ACLRole{ID: id, Name: req.Name,
		Description: req.Description, Policies: req.Policies, ServiceIdentities: svc, NodeIdentities: nodes}})
	if err != nil {
		return err
	}
	if out.Role == nil {
		return internalError("the role's write answered no role")
	}
	var role apiACLRole
	s.cfg.ACLState.Read(false, func(v projections.ACLView) { role = toAPIRole(v, out.Role, true) })
	return writeJSON(w, http.StatusOK, role)
}

func (s *Server) aclRoleList(w http.ResponseWriter, r *http.Request) error {
	if err := aclAllowed(r, acl.Read); err != nil {
		return err
	}
	policy := r.URL.Query().Get("policy")
	list, err := aclRead(s, w, r, func(v projections.ACLView) []apiACLRole {
		out := []apiACLRole{}
		for _, role := range v.Roles() {
			if policy == "" || slices.ContainsFunc(role.Policies, func(l event.ACLLink) bool { return strings.EqualFold(l.ID, policy) }) {
				out = append(out, toAPIRole(v, role, false))
			}
		}
		return out
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}
