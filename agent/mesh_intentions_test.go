package agent_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

const spiffePrefix = "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/"

// svcURI waits for the CA and returns the SPIFFE ID of a
// service.
func svcURI(t *testing.T, c *api.Client, service string) string {
	t.Helper()
	roots, _ := activeRoots(t, c)
	return "spiffe://" + roots.TrustDomain + "/ns/default/dc/dc1/svc/" + service
}

// Intentions written through /v1/connect/intentions (legacy create, exact
// upsert) are sources of service-intentions entries, read back, listed,
// matched and checked, and /v1/agent/connect/authorize decides by
// Consul's precedence: exact destination before wildcard, then exact
// source; without a match, allow while ACLs are off.
func TestIntentionsAndAuthorize(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	cn := c.Connect()

	id, _, err := cn.IntentionCreate(&api.Intention{SourceName: "web", DestinationName: "db", Action: api.IntentionActionAllow,
		Description: "web reads db", Meta: map[string]string{"owner": "team-a"}}, nil)
	if err != nil || len(id) != 36 {
		t.Fatalf("create: %q %v", id, err)
	}
	got, _, err := cn.IntentionGet(id, nil)
	if err != nil || got == nil || got.ID != id || got.SourceName != "web" || got.DestinationName != "db" ||
		got.Action != api.IntentionActionAllow || got.Description != "web reads db" || got.Meta["owner"] != "team-a" ||
		got.Precedence != 9 || got.SourceType != api.IntentionSourceConsul || got.CreatedAt.IsZero() || got.CreateIndex == 0 {
		t.Fatalf("get by ID: %v %+v", err, got)
	}
	if _, _, err := cn.IntentionCreate(&api.Intention{SourceName: "web", DestinationName: "db", Action: api.IntentionActionDeny}, nil); err == nil ||
		!strings.Contains(err.Error(), "duplicate intention found: web => db (allow)") {
		t.Fatalf("duplicate create: %v", err)
	}
	// The precedence table: exact/exact 9, */exact 8, exact/* 6, */* 5.
	for _, ixn := range []*api.Intention{
		{SourceName: "*", DestinationName: "db", Action: api.IntentionActionDeny},
		{SourceName: "web", DestinationName: "*", Action: api.IntentionActionDeny},
		{SourceName: "*", DestinationName: "*", Action: api.IntentionActionAllow},
		{SourceName: "api", DestinationName: "cache", Permissions: []*api.IntentionPermission{{Action: api.IntentionActionAllow,
			HTTP: &api.IntentionHTTPPermission{PathPrefix: "/v1"}}}},
	} {
		if _, err := cn.IntentionUpsert(ixn, nil); err != nil {
			t.Fatalf("upsert %s => %s: %v", ixn.SourceName, ixn.DestinationName, err)
		}
	}
	entry, _, err := c.ConfigEntries().Get(api.ServiceIntentions, "db", nil)
	if err != nil || len(entry.(*api.ServiceIntentionsConfigEntry).Sources) != 2 {
		t.Fatalf("service-intentions db: %v %+v", err, entry)
	}
	list, _, err := cn.Intentions(nil)
	if err != nil || len(list) != 5 {
		t.Fatalf("list: %v %d", err, len(list))
	}
	var order []string
	for _, ixn := range list {
		order = append(order, fmt.Sprintf("%s>%s:%d", ixn.SourceName, ixn.DestinationName, ixn.Precedence))
	}
	if fmt.Sprint(order) != "[api>cache:9 web>db:9 *>db:8 web>*:6 *>*:5]" {
		t.Errorf("list order: %v", order)
	}
	exact, _, err := cn.IntentionGetExact("*", "db", nil)
	if err != nil || exact == nil || exact.Action != api.IntentionActionDeny || exact.Precedence != 8 {
		t.Fatalf("get exact */db: %v %+v", err, exact)
	}
	if none, _, err := cn.IntentionGetExact("nobody", "db", nil); err != nil || none != nil {
		t.Fatalf("get exact of none: %v %+v", err, none)
	}
	matched, _, err := cn.IntentionMatch(&api.IntentionMatch{By: api.IntentionMatchDestination, Names: []string{"db"}}, nil)
	if err != nil || len(matched["db"]) != 4 || matched["db"][0].SourceName != "web" || matched["db"][3].DestinationName != "*" {
		t.Fatalf("match db: %v %+v", err, matched)
	}

	for _, tc := range []struct {
		source, target string
		allowed        bool
		reason         string
	}{
		{"web", "db", true, "Matched L4 intention: web => db (allow)"},
		{"api", "db", false, "Matched L4 intention: * => db (deny)"},
		{"web", "other", false, "Matched L4 intention: web => * (deny)"},
		{"x", "other", true, "Matched L4 intention: * => * (allow)"},
		{"api", "cache", false, "Matched L7 intention: api => cache (1 permission)"},
	} {
		res, err := c.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{Target: tc.target, ClientCertURI: svcURI(t, c, tc.source)})
		if err != nil || res.Authorized != tc.allowed || !strings.HasPrefix(res.Reason, tc.reason) {
			t.Errorf("authorize %s => %s: %v %+v, want %v %q", tc.source, tc.target, err, res, tc.allowed, tc.reason)
		}
		ok, _, err := cn.IntentionCheck(&api.IntentionCheck{Source: tc.source, Destination: tc.target}, nil)
		if err != nil || ok != tc.allowed {
			t.Errorf("check %s => %s: %v %v", tc.source, tc.target, ok, err)
		}
	}

	// Deleting: by source and destination, by ID; the default then
	// decides, allow with ACLs off.
	if _, err := cn.IntentionDeleteExact("*", "*", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cn.IntentionDeleteExact("web", "*", nil); err != nil {
		t.Fatal(err)
	}
	res, err := c.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{Target: "other", ClientCertURI: svcURI(t, c, "web")})
	if err != nil || !res.Authorized || res.Reason != "ACLs disabled, access is allowed by default" {
		t.Fatalf("authorize without an intention: %v %+v", err, res)
	}
	if _, err := cn.IntentionDelete(id, nil); err != nil {
		t.Fatal(err)
	}
	if gone, _, err := cn.IntentionGet(id, nil); err != nil || gone != nil {
		t.Fatalf("deleted by ID: %v %+v", err, gone)
	}
	if _, err := cn.IntentionDeleteExact("*", "db", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ConfigEntries().Get(api.ServiceIntentions, "db", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("the entry of db without sources: %v", err)
	}

	// Malformed requests.
	if _, err := c.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{Target: "db", ClientCertURI: "https://x"}); err == nil ||
		!strings.Contains(err.Error(), "ClientCertURI not a valid Connect identifier") {
		t.Errorf("bad URI: %v", err)
	}
	if _, err := c.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{Target: "db", ClientCertURI: spiffePrefix}); err == nil ||
		!strings.Contains(err.Error(), "ClientCertURI must be a valid service identifier") {
		t.Errorf("URI without a service: %v", err)
	}
	if _, err := cn.IntentionUpsert(&api.Intention{SourceName: "a", DestinationName: "b", Action: "maybe"}, nil); err == nil ||
		!strings.Contains(err.Error(), "Action must be set to 'allow' or 'deny'") {
		t.Errorf("bad action: %v", err)
	}
}

// With ACLs on and the default policy deny, a connection no intention
// matches is refused, and intentions need intention permissions.
func TestAuthorizeDefaultDeny(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-hcl", aclDenyWithRoot)
	root, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: rootSecret})
	if err != nil {
		t.Fatal(err)
	}
	uri := svcURI(t, root, "web")
	res, err := root.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{Target: "db", ClientCertURI: uri})
	if err != nil || res.Authorized || res.Reason != "Default behavior configured by ACLs" {
		t.Fatalf("authorize without an intention, default deny: %v %+v", err, res)
	}
	if _, err := root.Connect().IntentionUpsert(&api.Intention{SourceName: "web", DestinationName: "db", Action: api.IntentionActionAllow}, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10e9, "the intention decides", func() (bool, string) {
		res, err := root.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{Target: "db", ClientCertURI: uri})
		return err == nil && res.Authorized, fmt.Sprint(res, err)
	})

	// A token with service:read and intentions denied may not write
	// intentions, nor list them (service:read alone implies
	// intention:read, as in Consul).
	pol, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "reader", Rules: `service_prefix "" {
  policy = "read"
  intentions = "deny"
}`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reader, _ := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: tok.SecretID})
	if _, err := reader.Connect().IntentionUpsert(&api.Intention{SourceName: "x", DestinationName: "db", Action: api.IntentionActionAllow}, nil); err == nil ||
		!strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "intention:write") {
		t.Errorf("upsert without intention:write: %v", err)
	}
	if list, _, err := reader.Connect().Intentions(nil); err != nil || len(list) != 0 {
		t.Errorf("list without intention:read: %v %+v", err, list)
	}
	if _, _, err := reader.ConfigEntries().Set(&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: "global"}, nil); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Errorf("proxy-defaults without mesh:write: %v", err)
	}
	if _, _, err := reader.ConfigEntries().Get(api.ServiceIntentions, "db", nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("service-intentions without intention:read: %v", err)
	}
	if _, err := reader.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{Target: "db", ClientCertURI: uri}); err == nil ||
		!strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "service:write") {
		t.Errorf("authorize without service:write on the target: %v", err)
	}
	// Reading a service's entry needs service:read on it, which the
	// reader has; the mesh reads filter what the token may not read.
	if _, _, err := root.ConfigEntries().Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "http"}, nil); err != nil {
		t.Fatal(err)
	}
	if e, _, err := reader.ConfigEntries().Get(api.ServiceDefaults, "web", nil); err != nil || e.GetName() != "web" {
		t.Errorf("service-defaults with service:read: %v %v", err, e)
	}
	nobody, _ := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: "00000000-0000-0000-0000-00000000dead"})
	if _, _, err := nobody.ConfigEntries().List(api.ServiceDefaults, nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("list with an unknown token: %v", err)
	}
	anonymous, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if list, _, err := anonymous.ConfigEntries().List(api.ServiceDefaults, nil); err != nil || len(list) != 0 {
		t.Errorf("list as the anonymous token (default deny): %v %v", err, list)
	}
}
