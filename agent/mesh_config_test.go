package agent_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// meshEntries are one entry of every kind, as a client writes them.
func meshEntries() []api.ConfigEntry {
	return []api.ConfigEntry{
		&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "http",
			MeshGateway: api.MeshGatewayConfig{Mode: api.MeshGatewayModeLocal}, Meta: map[string]string{"Team_Name": "a"},
			UpstreamConfig: &api.UpstreamConfiguration{Defaults: &api.UpstreamConfig{ConnectTimeoutMs: 5000}}},
		&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: api.ProxyConfigGlobal,
			Config: map[string]interface{}{"protocol": "http", "local_connect_timeout_ms": float64(1000)}, Mode: api.ProxyModeDirect},
		&api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: "db", Sources: []*api.SourceIntention{
			{Name: "web", Action: api.IntentionActionAllow, Precedence: 9, Type: api.IntentionSourceConsul},
			{Name: "*", Action: api.IntentionActionDeny, Precedence: 8, Type: api.IntentionSourceConsul}}},
		&api.ServiceRouterConfigEntry{Kind: api.ServiceRouter, Name: "web", Routes: []api.ServiceRoute{{
			Match:       &api.ServiceRouteMatch{HTTP: &api.ServiceRouteHTTPMatch{PathPrefix: "/admin"}},
			Destination: &api.ServiceRouteDestination{Service: "admin", RequestTimeout: 5 * time.Second}}}},
		&api.ServiceSplitterConfigEntry{Kind: api.ServiceSplitter, Name: "web", Splits: []api.ServiceSplit{
			{Weight: 90, ServiceSubset: "v1"}, {Weight: 10, ServiceSubset: "v2"}}},
		&api.ServiceResolverConfigEntry{Kind: api.ServiceResolver, Name: "web", DefaultSubset: "v1",
			Subsets:        map[string]api.ServiceResolverSubset{"v1": {Filter: "Service.Meta.version == v1"}, "v2": {Filter: "Service.Meta.version == v2"}},
			ConnectTimeout: 15 * time.Second},
		&api.IngressGatewayConfigEntry{Kind: api.IngressGateway, Name: "ingress", Listeners: []api.IngressListener{
			{Port: 8080, Protocol: "http", Services: []api.IngressService{{Name: "web", Hosts: []string{"web.example.com"}}, {Name: "api"}}},
			{Port: 9090, Protocol: "tcp", Services: []api.IngressService{{Name: "db"}}}}},
		&api.TerminatingGatewayConfigEntry{Kind: api.TerminatingGateway, Name: "term", Services: []api.LinkedService{
			{Name: "billing", CAFile: "/etc/ca.pem", SNI: "billing.example.com"}, {Name: "legacy"}}},
		&api.MeshConfigEntry{TransparentProxy: api.TransparentProxyMeshConfig{MeshDestinationsOnly: true}},
		&api.ExportedServicesConfigEntry{Name: "default", Services: []api.ExportedService{
			{Name: "web", Consumers: []api.ServiceConsumer{{Peer: "other"}}}}},
	}
}

// Config entries of every kind are written, read back field for field,
// listed, CAS-conflicted and deleted through the official client, and a
// malformed one is refused with Consul's message; a list blocks until an
// entry changes.
func TestConfigEntries(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	ce := c.ConfigEntries()
	for _, e := range meshEntries() {
		ok, _, err := ce.Set(e, nil)
		if err != nil || !ok {
			t.Fatalf("set %s/%s: %v %v", e.GetKind(), e.GetName(), ok, err)
		}
		got, meta, err := ce.Get(e.GetKind(), e.GetName(), nil)
		if err != nil {
			t.Fatalf("get %s/%s: %v", e.GetKind(), e.GetName(), err)
		}
		if got.GetCreateIndex() == 0 || got.GetModifyIndex() != got.GetCreateIndex() || meta.LastIndex < got.GetModifyIndex() {
			t.Errorf("%s indexes: create %d modify %d, X-Consul-Index %d", e.GetKind(), got.GetCreateIndex(), got.GetModifyIndex(), meta.LastIndex)
		}
		clearIndexes(got)
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%s/%s read back:\n got %#v\nwant %#v", e.GetKind(), e.GetName(), got, e)
		}
		list, _, err := ce.List(e.GetKind(), nil)
		if err != nil || len(list) != 1 || list[0].GetName() != e.GetName() {
			t.Errorf("list %s: %v %v", e.GetKind(), err, list)
		}
	}

	// CAS: 0 means "only if absent"; the current index wins once.
	cur, _, err := ce.Get(api.ServiceDefaults, "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	next := &api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "grpc"}
	if ok, _, err := ce.CAS(next, 0, nil); err != nil || ok {
		t.Fatalf("CAS 0 on an existing entry: %v %v", ok, err)
	}
	if ok, _, err := ce.CAS(next, cur.GetModifyIndex(), nil); err != nil || !ok {
		t.Fatalf("CAS with the current index: %v %v", ok, err)
	}
	if ok, _, err := ce.CAS(next, cur.GetModifyIndex(), nil); err != nil || ok {
		t.Fatalf("CAS with a stale index: %v %v", ok, err)
	}
	got, _, _ := ce.Get(api.ServiceDefaults, "web", nil)
	if got.(*api.ServiceConfigEntry).Protocol != "grpc" || got.GetCreateIndex() != cur.GetCreateIndex() {
		t.Fatalf("after CAS: %+v", got)
	}
	if ok, _, err := ce.DeleteCAS(api.ServiceDefaults, "web", cur.GetModifyIndex(), nil); err != nil || ok {
		t.Fatalf("delete-cas with a stale index: %v %v", ok, err)
	}
	if ok, _, err := ce.DeleteCAS(api.ServiceDefaults, "web", got.GetModifyIndex(), nil); err != nil || !ok {
		t.Fatalf("delete-cas: %v %v", ok, err)
	}
	if _, _, err := ce.Get(api.ServiceDefaults, "web", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("deleted entry: %v", err)
	}
	if _, err := ce.Delete(api.TerminatingGateway, "term", nil); err != nil {
		t.Fatal(err)
	}

	// Refusals, 400 with Consul's messages.
	for _, tc := range []struct {
		e    api.ConfigEntry
		want string
	}{
		{&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: "other"}, `invalid name ("other"), only "global" is supported`},
		{&api.ServiceConfigEntry{Kind: api.ServiceDefaults}, "Name is required"},
		{&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "*"}, "service-defaults name must be the name of a service, and not a wildcard"},
		{&api.ServiceSplitterConfigEntry{Kind: api.ServiceSplitter, Name: "x", Splits: []api.ServiceSplit{{Weight: 50}}}, "the sum of all split weights must be 100"},
		{&api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: "db", Sources: []*api.SourceIntention{{Name: "web", Action: "maybe"}}}, "Sources[0].Action must be set to 'allow' or 'deny'"},
		{&api.IngressGatewayConfigEntry{Kind: api.IngressGateway, Name: "i", Listeners: []api.IngressListener{{Port: 1, Protocol: "udp", Services: []api.IngressService{{Name: "a"}}}}}, "unsupported protocol"},
		{&api.ServiceResolverConfigEntry{Kind: api.ServiceResolver, Name: "r", DefaultSubset: "nope"}, `DefaultSubset "nope" is not a valid subset`},
		{&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: "global", AccessLogs: &api.AccessLogsConfig{Type: api.FileLogSinkType}}, "path must be specified when using file type access logs"},
	} {
		_, _, err := ce.Set(tc.e, nil)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v, want 400 %q", tc.e.GetKind(), tc.e.GetName(), err, tc.want)
		}
	}
	resp, err := c.Raw().Write("/v1/config", map[string]any{"Kind": "no-such-kind", "Name": "x"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "invalid config entry kind: no-such-kind") {
		t.Errorf("unknown kind: %v %v", resp, err)
	}
	// A misspelt field is refused, not dropped.
	resp, err = c.Raw().Write("/v1/config", map[string]any{"Kind": api.ServiceDefaults, "Name": "typo", "Protocl": "http"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), `Request decoding failed: 1 error occurred:`) ||
		!strings.Contains(err.Error(), `invalid config key "Protocl"`) {
		t.Errorf("an unknown key: %v %v", resp, err)
	}

	// Blocking: a list of a kind wakes when an entry changes.
	_, meta, err := ce.List(api.ServiceResolver, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []api.ConfigEntry, 1)
	go func() {
		list, _, err := ce.List(api.ServiceResolver, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- list
	}()
	if _, _, err := ce.Set(&api.ServiceResolverConfigEntry{Kind: api.ServiceResolver, Name: "api"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case list := <-done:
		if len(list) != 2 {
			t.Fatalf("blocking list woke with %v", list)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("blocking list did not wake")
	}
}

// clearIndexes zeroes an entry's indexes, for comparing with what was
// written.
func clearIndexes(e api.ConfigEntry) {
	v := reflect.ValueOf(e).Elem()
	for _, f := range []string{"CreateIndex", "ModifyIndex"} {
		if fv := v.FieldByName(f); fv.IsValid() {
			fv.SetUint(0)
		}
	}
}
