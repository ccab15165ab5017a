package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
)

// fakeACLServer stands in for an agent's /v1/acl/* and /v1/agent/token/*
// endpoints in the acl command tests: it keeps tokens, policies and roles
// in maps and answers in the JSON shapes of Consul's HTTP API, which the
// official client decodes. It records every request so that tests can
// assert on what the CLI sent; the assertions on output and requests hold
// against a real agent as well.
//
// Authorization is reduced to what the tests need: a request whose token
// is in denied is refused with 403 and Consul's permission-denied message.
type fakeACLServer struct {
	*httptest.Server

	mu           sync.Mutex
	tokens       map[string]*api.ACLToken // by AccessorID
	policies     map[string]*api.ACLPolicy
	roles        map[string]*api.ACLRole
	agentTokens  map[string]string // by type
	bootstrapped bool
	denied       map[string]bool // tokens refused with 403
	requests     []fakeRequest
	nextID       int
}

// fakeRequest is one request the server received.
type fakeRequest struct {
	Method, Path, Token string
	Body                string
}

func newFakeACLServer(t *testing.T) *fakeACLServer {
	t.Helper()
	f := &fakeACLServer{
		tokens:      map[string]*api.ACLToken{},
		policies:    map[string]*api.ACLPolicy{},
		roles:       map[string]*api.ACLRole{},
		agentTokens: map[string]string{},
		denied:      map[string]bool{},
	}
	f.policies[acl.GlobalManagementPolicyID] = &api.ACLPolicy{
		ID: acl.GlobalManagementPolicyID, Name: acl.GlobalManagementPolicyName,
		Description: "Builtin Policy that grants unlimited access", Rules: `acl = "write"`,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/acl/bootstrap", f.bootstrap)
	mux.HandleFunc("PUT /v1/acl/token", f.tokenCreate)
	mux.HandleFunc("GET /v1/acl/token/self", f.tokenSelf)
	mux.HandleFunc("GET /v1/acl/token/{id}", f.tokenRead)
	mux.HandleFunc("PUT /v1/acl/token/{id}", f.tokenUpdate)
	mux.HandleFunc("PUT /v1/acl/token/{id}/clone", f.tokenClone)
	mux.HandleFunc("DELETE /v1/acl/token/{id}", f.tokenDelete)
	mux.HandleFunc("GET /v1/acl/tokens", f.tokenList)
	mux.HandleFunc("PUT /v1/acl/policy", f.policyWrite)
	mux.HandleFunc("PUT /v1/acl/policy/{id}", f.policyWrite)
	mux.HandleFunc("GET /v1/acl/policy/{id}", f.policyRead)
	mux.HandleFunc("GET /v1/acl/policy/name/{name}", f.policyReadByName)
	mux.HandleFunc("DELETE /v1/acl/policy/{id}", f.policyDelete)
	mux.HandleFunc("GET /v1/acl/policies", f.policyList)
	mux.HandleFunc("PUT /v1/acl/role", f.roleWrite)
	mux.HandleFunc("PUT /v1/acl/role/{id}", f.roleWrite)
	mux.HandleFunc("GET /v1/acl/role/{id}", f.roleRead)
	mux.HandleFunc("GET /v1/acl/role/name/{name}", f.roleReadByName)
	mux.HandleFunc("DELETE /v1/acl/role/{id}", f.roleDelete)
	mux.HandleFunc("GET /v1/acl/roles", f.roleList)
	mux.HandleFunc("PUT /v1/agent/token/{type}", f.agentTokenPut)

	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		token := r.Header.Get("X-Consul-Token")
		f.mu.Lock()
		f.requests = append(f.requests, fakeRequest{r.Method, r.URL.Path, token, string(body)})
		refused := f.denied[token]
		f.mu.Unlock()
		if refused {
			err := &acl.PermissionDeniedError{AccessorID: fakeDeniedAccessor, Resource: acl.ResourceACL, Access: acl.Write}
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// fakeDeniedAccessor is the accessor ID the 403 answers name: never the
// secret the request carried.
const fakeDeniedAccessor = "a7d1ad3e-0000-4000-8000-000000000403"

// env is the environment that points the CLI at the server.
func (f *fakeACLServer) env() map[string]string {
	return map[string]string{"CONSUL_HTTP_ADDR": f.URL}
}

// run runs the CLI against the server.
func (f *fakeACLServer) run(t *testing.T, args ...string) result {
	t.Helper()
	return invocation{env: f.env()}.run(t, args...)
}

// received is a copy of the requests received so far.
func (f *fakeACLServer) received() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

// agentToken is the agent token of the type last set, "" if none.
func (f *fakeACLServer) agentToken(typ string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.agentTokens[typ]
}

// deny makes the server refuse every request carrying secret.
func (f *fakeACLServer) deny(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denied[secret] = true
}

// lastWrite is the last request other than a GET: the one a command's
// change was sent with.
func (f *fakeACLServer) lastWrite(t *testing.T) fakeRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if f.requests[i].Method != http.MethodGet {
			return f.requests[i]
		}
	}
	t.Fatal("no write request received")
	return fakeRequest{}
}

// newID returns a fresh UUID-shaped ID: "01000001-...", "02000002-...", so
// that two characters are a unique prefix and "0" is an ambiguous one.
func (f *fakeACLServer) newID() string {
	f.nextID++
	return fmt.Sprintf("%02x%06x-0000-4000-8000-%012x", f.nextID, f.nextID, f.nextID)
}

// fakeCreateTime is the fixed creation time of everything the server makes, so
// that outputs can be compared whole.
var fakeCreateTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fakeWriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func fakeDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		http.Error(w, "Request decode failed: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func fakeNotFound(w http.ResponseWriter) {
	http.Error(w, acl.ErrNotFound.Error(), http.StatusForbidden)
}

func (f *fakeACLServer) bootstrap(w http.ResponseWriter, r *http.Request) {
	var req struct{ BootstrapSecret string }
	if r.ContentLength > 0 && !fakeDecode(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bootstrapped {
		http.Error(w, "Permission denied: ACL bootstrap no longer allowed (reset index: 7)", http.StatusForbidden)
		return
	}
	f.bootstrapped = true
	t := &api.ACLToken{
		AccessorID: f.newID(), SecretID: req.BootstrapSecret,
		Description: "Bootstrap Token (Global Management)", CreateTime: fakeCreateTime,
		Policies: []*api.ACLTokenPolicyLink{{ID: acl.GlobalManagementPolicyID, Name: acl.GlobalManagementPolicyName}},
	}
	if t.SecretID == "" {
		t.SecretID = f.newID()
	}
	f.tokens[t.AccessorID] = t
	fakeWriteJSON(w, t)
}

// resolveLinksLocked fills the name or ID each policy and role link lacks,
// as Consul's server does, or reports the unknown one.
func (f *fakeACLServer) resolveTokenLinksLocked(t *api.ACLToken) error {
	for _, l := range t.Policies {
		p := f.findPolicyLocked(l.ID, l.Name)
		if p == nil {
			return fmt.Errorf("cannot find policy %s%s", l.ID, l.Name)
		}
		l.ID, l.Name = p.ID, p.Name
	}
	for _, l := range t.Roles {
		r := f.findRoleLocked(l.ID, l.Name)
		if r == nil {
			return fmt.Errorf("cannot find role %s%s", l.ID, l.Name)
		}
		l.ID, l.Name = r.ID, r.Name
	}
	return nil
}

func (f *fakeACLServer) findPolicyLocked(id, name string) *api.ACLPolicy {
	for _, p := range f.policies {
		if (id != "" && p.ID == id) || (id == "" && p.Name == name) {
			return p
		}
	}
	return nil
}

func (f *fakeACLServer) findRoleLocked(id, name string) *api.ACLRole {
	for _, r := range f.roles {
		if (id != "" && r.ID == id) || (id == "" && r.Name == name) {
			return r
		}
	}
	return nil
}

func (f *fakeACLServer) tokenCreate(w http.ResponseWriter, r *http.Request) {
	var t api.ACLToken
	if !fakeDecode(w, r, &t) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.resolveTokenLinksLocked(&t); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if t.AccessorID == "" {
		t.AccessorID = f.newID()
	}
	if t.SecretID == "" {
		t.SecretID = f.newID()
	}
	t.CreateTime = fakeCreateTime
	if t.ExpirationTTL > 0 {
		exp := fakeCreateTime.Add(t.ExpirationTTL)
		t.ExpirationTime = &exp
		t.ExpirationTTL = 0
	}
	f.tokens[t.AccessorID] = &t
	fakeWriteJSON(w, t)
}

func (f *fakeACLServer) tokenSelf(w http.ResponseWriter, r *http.Request) {
	secret := r.Header.Get("X-Consul-Token")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tokens {
		if t.SecretID == secret {
			fakeWriteJSON(w, t)
			return
		}
	}
	fakeNotFound(w)
}

func (f *fakeACLServer) tokenRead(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[r.PathValue("id")]
	if !ok {
		fakeNotFound(w)
		return
	}
	fakeWriteJSON(w, t)
}

func (f *fakeACLServer) tokenUpdate(w http.ResponseWriter, r *http.Request) {
	var t api.ACLToken
	if !fakeDecode(w, r, &t) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.tokens[r.PathValue("id")]
	if !ok {
		fakeNotFound(w)
		return
	}
	if err := f.resolveTokenLinksLocked(&t); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t.AccessorID, t.SecretID, t.CreateTime, t.Local = old.AccessorID, old.SecretID, old.CreateTime, old.Local
	f.tokens[t.AccessorID] = &t
	fakeWriteJSON(w, t)
}

func (f *fakeACLServer) tokenClone(w http.ResponseWriter, r *http.Request) {
	var req struct{ Description string }
	if !fakeDecode(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.tokens[r.PathValue("id")]
	if !ok {
		fakeNotFound(w)
		return
	}
	clone := *old
	clone.AccessorID, clone.SecretID = f.newID(), f.newID()
	if req.Description != "" {
		clone.Description = req.Description
	}
	f.tokens[clone.AccessorID] = &clone
	fakeWriteJSON(w, clone)
}

func (f *fakeACLServer) tokenDelete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tokens, r.PathValue("id"))
	fakeWriteJSON(w, true)
}

func (f *fakeACLServer) tokenList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []*api.ACLTokenListEntry{}
	for _, t := range f.tokens {
		out = append(out, &api.ACLTokenListEntry{
			AccessorID: t.AccessorID, SecretID: t.SecretID, Description: t.Description,
			Policies: t.Policies, Roles: t.Roles, ServiceIdentities: t.ServiceIdentities,
			NodeIdentities: t.NodeIdentities, Local: t.Local, CreateTime: t.CreateTime,
			ExpirationTime: t.ExpirationTime,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AccessorID < out[j].AccessorID })
	fakeWriteJSON(w, out)
}

func (f *fakeACLServer) policyWrite(w http.ResponseWriter, r *http.Request) {
	var p api.ACLPolicy
	if !fakeDecode(w, r, &p) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if id := r.PathValue("id"); id != "" {
		if _, ok := f.policies[id]; !ok {
			fakeNotFound(w)
			return
		}
		p.ID = id
	} else {
		p.ID = f.newID()
	}
	if other := f.findPolicyLocked("", p.Name); p.Name == "" || (other != nil && other.ID != p.ID) {
		http.Error(w, fmt.Sprintf("Invalid Policy: A Policy with Name %q already exists", p.Name), http.StatusBadRequest)
		return
	}
	f.policies[p.ID] = &p
	fakeWriteJSON(w, p)
}

func (f *fakeACLServer) policyRead(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.policies[r.PathValue("id")]
	if !ok {
		fakeNotFound(w)
		return
	}
	fakeWriteJSON(w, p)
}

func (f *fakeACLServer) policyReadByName(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.findPolicyLocked("", r.PathValue("name"))
	if p == nil {
		http.Error(w, acl.ErrNotFound.Error(), http.StatusNotFound)
		return
	}
	fakeWriteJSON(w, p)
}

func (f *fakeACLServer) policyDelete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.policies, r.PathValue("id"))
	fakeWriteJSON(w, true)
}

func (f *fakeACLServer) policyList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []*api.ACLPolicyListEntry{}
	for _, p := range f.policies {
		out = append(out, &api.ACLPolicyListEntry{ID: p.ID, Name: p.Name, Description: p.Description,
			Datacenters: p.Datacenters})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	fakeWriteJSON(w, out)
}

func (f *fakeACLServer) roleWrite(w http.ResponseWriter, r *http.Request) {
	var role api.ACLRole
	if !fakeDecode(w, r, &role) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if id := r.PathValue("id"); id != "" {
		if _, ok := f.roles[id]; !ok {
			fakeNotFound(w)
			return
		}
		role.ID = id
	} else {
		role.ID = f.newID()
	}
	for _, l := range role.Policies {
		p := f.findPolicyLocked(l.ID, l.Name)
		if p == nil {
			http.Error(w, fmt.Sprintf("cannot find policy %s%s", l.ID, l.Name), http.StatusBadRequest)
			return
		}
		l.ID, l.Name = p.ID, p.Name
	}
	f.roles[role.ID] = &role
	fakeWriteJSON(w, role)
}

func (f *fakeACLServer) roleRead(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	role, ok := f.roles[r.PathValue("id")]
	if !ok {
		http.Error(w, acl.ErrNotFound.Error(), http.StatusNotFound)
		return
	}
	fakeWriteJSON(w, role)
}

func (f *fakeACLServer) roleReadByName(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	role := f.findRoleLocked("", r.PathValue("name"))
	if role == nil {
		http.Error(w, acl.ErrNotFound.Error(), http.StatusNotFound)
		return
	}
	fakeWriteJSON(w, role)
}

func (f *fakeACLServer) roleDelete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.roles, r.PathValue("id"))
	fakeWriteJSON(w, true)
}

func (f *fakeACLServer) roleList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []*api.ACLRole{}
	for _, role := range f.roles {
		out = append(out, role)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	fakeWriteJSON(w, out)
}

func (f *fakeACLServer) agentTokenPut(w http.ResponseWriter, r *http.Request) {
	var req struct{ Token string }
	if !fakeDecode(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.agentTokens[r.PathValue("type")] = req.Token
}
