package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// prefixRulesAuthorizer is a test authorizer: for each resource, rules by
// name prefix, the longest matching prefix deciding; no rule denies. It
// stands in for the policy compiler, which these tests do not exercise.
type prefixRulesAuthorizer map[acl.Resource]map[string]acl.Access

func (p prefixRulesAuthorizer) decide(r acl.Resource, name string) acl.Access {
	best, access := -1, acl.Deny
	for prefix, a := range p[r] {
		if strings.HasPrefix(name, prefix) && len(prefix) > best {
			best, access = len(prefix), a
		}
	}
	return access
}

func grants(have, need acl.Access) bool { return have != acl.Deny && have >= need }

func (p prefixRulesAuthorizer) Allowed(r acl.Resource, name string, need acl.Access) bool {
	return grants(p.decide(r, name), need)
}

func (p prefixRulesAuthorizer) AllowedPrefix(r acl.Resource, prefix string, need acl.Access) bool {
	if !p.Allowed(r, prefix, need) {
		return false
	}
	for rule, a := range p[r] {
		if strings.HasPrefix(rule, prefix) && !grants(a, need) {
			return false
		}
	}
	return true
}

// tokenTable is a test resolver: a fixed table of secrets, from which
// tokens can be revoked.
type tokenTable struct {
	mu  sync.Mutex
	ids map[string]acl.Identity
	// resolved counts the resolutions of each secret.
	resolved map[string]int
}

func (t *tokenTable) Resolve(secret string) (acl.Identity, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.resolved == nil {
		t.resolved = map[string]int{}
	}
	t.resolved[secret]++
	id, ok := t.ids[secret]
	if !ok {
		return acl.Identity{}, acl.ErrNotFound
	}
	return id, nil
}

func (t *tokenTable) resolutions(secret string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resolved[secret]
}

func (t *tokenTable) revoke(secret string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ids, secret)
}

const (
	managementSecret = "secret-management"
	appSecret        = "secret-app"
	operatorSecret   = "secret-operator"
)

// startACLAgent starts a dev agent enforcing ACLs with the test tokens:
// management (everything), app (keys under app/, the web service, the
// agent's node), operator (operator read), and no token (anonymous: read
// keys under public/ and every node and service).
func startACLAgent(t *testing.T) (*agent.Agent, *tokenTable) {
	t.Helper()
	manage := acl.Identity{AccessorID: "accessor-management", Authorizer: acl.ManageAll()}
	table := &tokenTable{ids: map[string]acl.Identity{
		managementSecret: manage,
		appSecret: {AccessorID: "accessor-app", Authorizer: prefixRulesAuthorizer{
			acl.ResourceKey:     {"app/": acl.Write, "app/locked/": acl.Read},
			acl.ResourceService: {"web": acl.Write},
			acl.ResourceNode:    {"": acl.Read},
			acl.ResourceSession: {"": acl.Write},
			acl.ResourceEvent:   {"deploy": acl.Write},
		}},
		operatorSecret: {AccessorID: "accessor-operator", Authorizer: prefixRulesAuthorizer{
			acl.ResourceOperator: {"": acl.Read},
		}},
		"": {AccessorID: acl.AnonymousTokenID, Authorizer: prefixRulesAuthorizer{
			acl.ResourceKey:     {"public/": acl.Read},
			acl.ResourceNode:    {"": acl.Read},
			acl.ResourceService: {"": acl.Read},
		}},
	}}
	a := agenttest.StartWithACL(t, table, func() acl.Identity { return manage }, "-dev")
	return a, table
}

func aclClient(t *testing.T, a *agent.Agent, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantDenied checks that err is the 403 of a missing permission.
func wantDenied(t *testing.T, what string, err error, accessor, perm string) {
	t.Helper()
	want := fmt.Sprintf("Permission denied: token with AccessorID '%s' lacks permission '%s", accessor, perm)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: got %v, want a 403 %q", what, err, want)
	}
}

func rawGet(t *testing.T, a *agent.Agent, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+a.HTTPAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestACLKeyValue(t *testing.T) {
	a, _ := startACLAgent(t)
	mgmt := aclClient(t, a, managementSecret).KV()
	app := aclClient(t, a, appSecret).KV()
	for _, k := range []string{"app/a", "app/locked/b", "other/c", "public/d"} {
		if _, err := mgmt.Put(&api.KVPair{Key: k, Value: []byte("v")}, nil); err != nil {
			t.Fatalf("management put %s: %v", k, err)
		}
	}

	if _, err := app.Put(&api.KVPair{Key: "app/new", Value: []byte("x")}, nil); err != nil {
		t.Fatalf("app put under its prefix: %v", err)
	}
	_, err := app.Put(&api.KVPair{Key: "other/new", Value: []byte("x")}, nil)
	wantDenied(t, "put outside the prefix", err, "accessor-app", `key:write' on "other/new"`)
	_, err = app.Put(&api.KVPair{Key: "app/locked/b", Value: []byte("x")}, nil)
	wantDenied(t, "put under a read-only prefix", err, "accessor-app", `key:write' on "app/locked/b"`)
	_, _, err = app.Get("other/c", nil)
	wantDenied(t, "get outside the prefix", err, "accessor-app", `key:read' on "other/c"`)
	if p, _, err := app.Get("app/a", nil); err != nil || p == nil {
		t.Fatalf("app get under its prefix: %v %v", p, err)
	}

	// A recursive delete needs write on everything under the prefix.
	_, err = app.DeleteTree("app/", nil)
	wantDenied(t, "delete-tree over a read-only sub-prefix", err, "accessor-app", `key:write' on "app/"`)
	if p, _, _ := mgmt.Get("app/a", nil); p == nil {
		t.Fatal("a refused recursive delete removed a key")
	}

	// Lists are filtered, and say so to a token's holder.
	list, _, err := app.List("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range list {
		keys = append(keys, p.Key)
	}
	if strings.Join(keys, ",") != "app/a,app/locked/b,app/new" {
		t.Fatalf("app's recursive list: %v", keys)
	}
	resp, _ := rawGet(t, a, "/v1/kv/?recurse", http.Header{"X-Consul-Token": {appSecret}})
	if resp.StatusCode != 200 || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
		t.Fatalf("filtered list: %d, header %q", resp.StatusCode, resp.Header.Get("X-Consul-Results-Filtered-By-ACLs"))
	}
	resp, body := rawGet(t, a, "/v1/kv/?keys", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "" || strings.TrimSpace(body) != `["public/d"]` {
		t.Fatalf("anonymous key list: %d %q, header %q", resp.StatusCode, body, resp.Header.Get("X-Consul-Results-Filtered-By-ACLs"))
	}
	resp, _ = rawGet(t, a, "/v1/kv/?recurse", http.Header{"X-Consul-Token": {managementSecret}})
	if resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "" {
		t.Fatal("an unfiltered list says it was filtered")
	}

	// A transaction is refused at the operation that lacks permission.
	ops := api.KVTxnOps{
		{Verb: api.KVSet, Key: "app/t", Value: []byte("1")},
		{Verb: api.KVSet, Key: "other/t", Value: []byte("1")},
	}
	ok, txnResp, _, err := app.Txn(ops, nil)
	if err != nil || ok || len(txnResp.Errors) != 1 || txnResp.Errors[0].OpIndex != 1 ||
		!strings.Contains(txnResp.Errors[0].What, `lacks permission 'key:write' on "other/t"`) {
		t.Fatalf("txn with a denied op: ok=%v %+v %v", ok, txnResp, err)
	}
	if p, _, _ := mgmt.Get("app/t", nil); p != nil {
		t.Fatal("a refused transaction wrote its allowed op")
	}
	// A read-only transaction's gets are filtered.
	ok, txnResp, _, err = app.Txn(api.KVTxnOps{{Verb: api.KVGetTree, Key: ""}}, nil)
	if err != nil || !ok || len(txnResp.Results) != 3 {
		t.Fatalf("read-only txn: ok=%v %+v %v", ok, txnResp, err)
	}
}

func TestACLTokenExtraction(t *testing.T) {
	a, _ := startACLAgent(t)
	if _, err := aclClient(t, a, managementSecret).KV().Put(&api.KVPair{Key: "app/a", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		code   int
		body   string
	}{
		{"X-Consul-Token", "/v1/kv/app/a", http.Header{"X-Consul-Token": {appSecret}}, 200, ""},
		{"Bearer", "/v1/kv/app/a", http.Header{"Authorization": {"Bearer " + appSecret}}, 200, ""},
		{"bearer in lower case", "/v1/kv/app/a", http.Header{"Authorization": {"bearer   " + appSecret + " "}}, 200, ""},
		{"?token", "/v1/kv/app/a?token=" + appSecret, nil, 200, ""},
		{"?token before the header", "/v1/kv/app/a?token=" + appSecret, http.Header{"X-Consul-Token": {"nope"}}, 200, ""},
		{"header before Bearer", "/v1/kv/app/a", http.Header{"X-Consul-Token": {appSecret}, "Authorization": {"Bearer nope"}}, 200, ""},
		{"no token", "/v1/kv/app/a", nil, 403, "Permission denied: token with AccessorID '" + acl.AnonymousTokenID + "' lacks permission 'key:read' on \"app/a\""},
		{"empty Bearer", "/v1/kv/app/a", http.Header{"Authorization": {"Bearer "}}, 403, "lacks permission 'key:read'"},
		{"other scheme", "/v1/kv/app/a", http.Header{"Authorization": {"Basic " + appSecret}}, 403, "lacks permission 'key:read'"},
		{"unknown token", "/v1/kv/app/a", http.Header{"X-Consul-Token": {"who-knows"}}, 403, "ACL not found"},
		{"unknown token on a public endpoint", "/v1/status/leader", http.Header{"X-Consul-Token": {"who-knows"}}, 403, "ACL not found"},
	} {
		resp, body := rawGet(t, a, tc.path, tc.header)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, body, tc.code, tc.body)
		}
		if strings.Contains(body, "who-knows") || strings.Contains(body, appSecret) {
			t.Errorf("%s: the answer shows the secret: %q", tc.name, body)
		}
	}
}

func TestACLMalformedTokens(t *testing.T) {
	a, _ := startACLAgent(t)
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := []string{"", " ", "Bearer", "\u2603", strings.Repeat("x", 64<<10), "%zz", "\x00", "a b c", "Bearer Bearer"}
	for len(tokens) < 100 {
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		tokens = append(tokens, string(b))
	}
	sent := 0
	for i, tok := range tokens {
		for _, where := range []string{"query", "header", "bearer"} {
			req, err := http.NewRequest("GET", "http://"+a.HTTPAddr()+"/v1/kv/app/a", nil)
			if err != nil {
				t.Fatal(err)
			}
			switch where {
			case "query":
				req.URL.RawQuery = "token=" + url.QueryEscape(tok)
			case "header":
				req.Header.Set("X-Consul-Token", tok)
			case "bearer":
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				// The client refuses to send a header value that HTTP
				// does not allow: nothing reached the agent.
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sent++
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest &&
				resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("token %d in the %s: status %d", i, where, resp.StatusCode)
			}
		}
	}
	if sent < 100 {
		t.Fatalf("only %d requests were sent", sent)
	}
	// The agent still serves.
	if _, _, err := aclClient(t, a, managementSecret).KV().Get("app/a", nil); err != nil {
		t.Fatal(err)
	}
}

func TestACLBlockingQueryEndsWhenTokenRevoked(t *testing.T) {
	a, table := startACLAgent(t)
	mgmt := aclClient(t, a, managementSecret)
	if _, err := mgmt.KV().Put(&api.KVPair{Key: "app/a", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mgmt.Event().Fire(&api.UserEvent{Name: "deploy"}, nil); err != nil {
		t.Fatal(err)
	}
	// Blocking reads of each kind of wait: the projections' (blocking),
	// the user events' own loop.
	for i, path := range []string{"/v1/kv/app/a", "/v1/event/list?name=deploy"} {
		secret := fmt.Sprintf("secret-revocable-%d", i)
		table.mu.Lock()
		table.ids[secret] = table.ids[appSecret]
		table.mu.Unlock()
		resp, body := rawGet(t, a, path, http.Header{"X-Consul-Token": {secret}})
		index := resp.Header.Get("X-Consul-Index")
		if resp.StatusCode != 200 || index == "" {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
		}
		type answer struct {
			code int
			body string
		}
		before := table.resolutions(secret)
		done := make(chan answer, 1)
		go func() {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			req, _ := http.NewRequest("GET", "http://"+a.HTTPAddr()+path+sep+"wait=60s&index="+index, nil)
			req.Header.Set("X-Consul-Token", secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- answer{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			done <- answer{resp.StatusCode, string(b)}
		}()
		// Resolved once when it arrives, then again while it waits.
		poll.True(t, 30*time.Second, path+" waits", func() bool { return table.resolutions(secret) >= before+2 })
		table.revoke(secret)
		var got answer
		poll.True(t, 10*time.Second, path+" ends", func() bool {
			select {
			case got = <-done:
				return true
			default:
				return false
			}
		})
		if got.code != http.StatusForbidden || strings.TrimSpace(got.body) != "ACL not found" {
			t.Fatalf("%s, its token revoked while it waits: %d %q", path, got.code, got.body)
		}
	}
}

func TestACLCatalogAndAgent(t *testing.T) {
	a, _ := startACLAgent(t)
	mgmt := aclClient(t, a, managementSecret)
	app := aclClient(t, a, appSecret)
	node := a.NodeName()

	// Catalog registration needs node write too.
	_, err := app.Catalog().Register(&api.CatalogRegistration{Node: "n1", Address: "10.0.0.1",
		Service: &api.AgentService{ID: "web1", Service: "web"}}, nil)
	wantDenied(t, "register with a node write", err, "accessor-app", `node:write' on "n1"`)
	_, err = app.Catalog().Register(&api.CatalogRegistration{Node: node, SkipNodeUpdate: true,
		Service: &api.AgentService{ID: "db1", Service: "db"}}, nil)
	wantDenied(t, "register another service", err, "accessor-app", `service:write' on "db"`)
	for _, svc := range []string{"web", "db"} {
		if _, err := mgmt.Catalog().Register(&api.CatalogRegistration{Node: "n1", Address: "10.0.0.1",
			Service: &api.AgentService{ID: svc + "1", Service: svc}}, nil); err != nil {
			t.Fatal(err)
		}
	}

	// The agent endpoint needs only service write; the agent syncs with its
	// own token.
	if err := app.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-local", Name: "web"}); err != nil {
		t.Fatalf("agent register of an allowed service: %v", err)
	}
	err = app.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "db-local", Name: "db"})
	wantDenied(t, "agent register of another service", err, "accessor-app", `service:write' on "db"`)
	if err := mgmt.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "db-local", Name: "db"}); err != nil {
		t.Fatal(err)
	}
	err = app.Agent().ServiceDeregister("db-local")
	wantDenied(t, "agent deregister of another service", err, "accessor-app", `service:write' on "db"`)
	if err := mgmt.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "db-ttl", Name: "db-ttl", ServiceID: "db-local",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatal(err)
	}
	if checks, err := app.Agent().Checks(); err != nil || checks["db-ttl"] != nil {
		t.Fatalf("app's agent checks show another service's: %v %v", checks, err)
	}
	if checks, err := mgmt.Agent().Checks(); err != nil || checks["db-ttl"] == nil {
		t.Fatalf("management's agent checks: %v %v", checks, err)
	}
	err = app.Agent().PassTTL("db-ttl", "")
	wantDenied(t, "TTL update of another service's check", err, "accessor-app", `service:write' on "db"`)
	err = app.Agent().CheckRegister(&api.AgentCheckRegistration{Name: "node-check", AgentServiceCheck: api.AgentServiceCheck{TTL: "1m"}})
	wantDenied(t, "node check registration", err, "accessor-app", fmt.Sprintf("node:write' on %q", node))
	poll.Eventually(t, 10*time.Second, "the agent syncs the service", func() (bool, string) {
		inst, _, err := mgmt.Catalog().Service("web", "", nil)
		return err == nil && len(inst) == 2, fmt.Sprint(len(inst), err)
	})
	poll.Eventually(t, 10*time.Second, "the agent syncs the other service", func() (bool, string) {
		inst, _, err := mgmt.Catalog().Service("db", "", nil)
		return err == nil && len(inst) == 2, fmt.Sprint(len(inst), err)
	})

	// Reads are filtered: the operator token reads no service.
	services, _, err := app.Catalog().Services(nil)
	if err != nil || len(services) != 1 || services["web"] == nil {
		t.Fatalf("app's services: %v %v", services, err)
	}
	resp, body := rawGet(t, a, "/v1/catalog/services", http.Header{"X-Consul-Token": {operatorSecret}})
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "{}" || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
		t.Fatalf("operator's services: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	entries, _, err := aclClient(t, a, operatorSecret).Health().Service("web", "", false, nil)
	if err != nil || len(entries) != 0 {
		t.Fatalf("operator's health of web: %v %v", entries, err)
	}
	local, err := app.Agent().Services()
	if err != nil || len(local) != 1 || local["web-local"] == nil {
		t.Fatalf("app's agent services: %v %v", local, err)
	}

	// Endpoints of one permission.
	_, err = app.Agent().Self()
	wantDenied(t, "agent self", err, "accessor-app", fmt.Sprintf("agent:read' on %q", node))
	_, err = app.Operator().RaftGetConfiguration(nil)
	wantDenied(t, "raft configuration", err, "accessor-app", "operator:read'")
	if _, err := aclClient(t, a, operatorSecret).Operator().RaftGetConfiguration(nil); err != nil {
		t.Fatalf("operator reads the raft configuration: %v", err)
	}
	_, _, err = app.Snapshot().Save(nil)
	wantDenied(t, "snapshot", err, "accessor-app", "acl:write'")
	_, _, err = app.Event().Fire(&api.UserEvent{Name: "restart"}, nil)
	wantDenied(t, "event fire", err, "accessor-app", `event:write' on "restart"`)
	if _, _, err := app.Event().Fire(&api.UserEvent{Name: "deploy"}, nil); err != nil {
		t.Fatalf("allowed event: %v", err)
	}
	_, _, err = app.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "q", Service: api.ServiceQuery{Service: "web"}}, nil)
	wantDenied(t, "query create", err, "accessor-app", `query:write' on "q"`)
	_, _, err = aclClient(t, a, operatorSecret).Session().Create(&api.SessionEntry{Node: node}, nil)
	wantDenied(t, "session create", err, "accessor-operator", fmt.Sprintf("session:write' on %q", node))
	if _, err := app.Status().Leader(); err != nil {
		t.Fatalf("status needs no permission: %v", err)
	}
	members, err := aclClient(t, a, operatorSecret).Agent().Members(false)
	if err != nil || len(members) != 0 {
		t.Fatalf("operator's members: %v %v", members, err)
	}
	var raw []json.RawMessage
	resp, body = rawGet(t, a, "/v1/agent/members", http.Header{"X-Consul-Token": {appSecret}})
	if err := json.Unmarshal([]byte(body), &raw); err != nil || resp.StatusCode != 200 || len(raw) != 1 {
		t.Fatalf("app's members: %d %q", resp.StatusCode, body)
	}
}
