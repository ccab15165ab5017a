package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

func TestCatalogRegisterAndQueries(t *testing.T) {
	c, base := newClient(t)
	cat := c.Catalog()
	reg := func(node, addr string, meta map[string]string, id, name string, tags []string, port int, status string) {
		t.Helper()
		_, err := cat.Register(&api.CatalogRegistration{
			Node: node, Address: addr, NodeMeta: meta,
			Service: &api.AgentService{ID: id, Service: name, Tags: tags, Port: port},
			Check:   &api.AgentCheck{CheckID: "chk-" + id, Name: "c", Status: status, ServiceID: id},
		}, nil)
		if err != nil {
			t.Fatalf("register %s/%s: %v", node, id, err)
		}
	}
	reg("ext1", "10.0.0.1", map[string]string{"rack": "a"}, "db1", "db", []string{"primary", "v1"}, 5432, "passing")
	reg("ext2", "10.0.0.2", map[string]string{"rack": "b"}, "db2", "db", []string{"replica", "v1"}, 5432, "critical")
	reg("ext2", "10.0.0.2", map[string]string{"rack": "b"}, "cache1", "cache", nil, 6379, "warning")

	dcs, err := cat.Datacenters()
	if err != nil || len(dcs) != 1 || dcs[0] != "dc1" {
		t.Fatalf("datacenters: %v %v", dcs, err)
	}
	svcs, _, err := cat.Service("db", "", nil)
	if err != nil || len(svcs) != 2 || svcs[0].Node != "ext1" || svcs[0].ServicePort != 5432 || svcs[0].Address != "10.0.0.1" {
		t.Fatalf("catalog service db: %v %+v", err, svcs)
	}
	svcs, _, _ = cat.ServiceMultipleTags("db", []string{"v1", "replica"}, nil)
	if len(svcs) != 1 || svcs[0].ServiceID != "db2" {
		t.Fatalf("tags v1+replica: %+v", svcs)
	}
	svcs, _, _ = cat.Service("db", "", &api.QueryOptions{NodeMeta: map[string]string{"rack": "a"}})
	if len(svcs) != 1 || svcs[0].Node != "ext1" {
		t.Fatalf("node-meta rack=a: %+v", svcs)
	}
	svcs, _, err = cat.Service("db", "", &api.QueryOptions{Filter: `ServiceTags contains "replica"`})
	if err != nil || len(svcs) != 1 || svcs[0].ServiceID != "db2" {
		t.Fatalf("filter: %v %+v", err, svcs)
	}
	if _, _, err := cat.Service("db", "", &api.QueryOptions{Filter: `ServiceTags contains`}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("bad filter: %v", err)
	}

	services, _, _ := cat.Services(nil)
	if len(services["db"]) != 3 || services["cache"] == nil {
		t.Fatalf("services: %v", services)
	}
	node, _, err := cat.Node("ext2", nil)
	if err != nil || node == nil || len(node.Services) != 2 || node.Node.Address != "10.0.0.2" {
		t.Fatalf("node ext2: %v %+v", err, node)
	}
	if node, _, _ := cat.Node("nope", nil); node != nil {
		t.Fatalf("unknown node: %+v", node)
	}
	list, _, err := cat.NodeServiceList("ext2", nil)
	if err != nil || len(list.Services) != 2 {
		t.Fatalf("node-services: %v %+v", err, list)
	}

	// Health.
	h := c.Health()
	entries, _, _ := h.Service("db", "", false, nil)
	if len(entries) != 2 {
		t.Fatalf("health db: %d entries", len(entries))
	}
	entries, _, _ = h.Service("db", "", true, nil)
	if len(entries) != 1 || entries[0].Service.ID != "db1" {
		t.Fatalf("health db ?passing: %+v", entries)
	}
	critical, _, _ := h.State("critical", nil)
	found := false
	for _, ch := range critical {
		found = found || ch.CheckID == "chk-db2"
		if ch.Status != "critical" {
			t.Fatalf("state critical returned %s", ch.Status)
		}
	}
	if !found {
		t.Fatal("state critical lacks chk-db2")
	}
	checks, _, _ := h.Checks("cache", nil)
	if len(checks) != 1 || checks[0].Status != "warning" || checks[0].ServiceName != "cache" {
		t.Fatalf("checks cache: %+v", checks)
	}
	nodeChecks, _, _ := h.Node("ext2", nil)
	if len(nodeChecks) != 2 {
		t.Fatalf("health node ext2: %+v", nodeChecks)
	}
	if r := do(t, "GET", base+"/v1/health/state/sideways", ""); r.code != 400 {
		t.Fatalf("bad state: %d", r.code)
	}

	// Deregister a service, then a node.
	if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "ext2", ServiceID: "db2"}, nil); err != nil {
		t.Fatal(err)
	}
	if svcs, _, _ := cat.Service("db", "", nil); len(svcs) != 1 {
		t.Fatalf("after deregistering db2: %+v", svcs)
	}
	if checks, _, _ := h.Node("ext2", nil); len(checks) != 1 {
		t.Fatalf("db2's check survived its service: %+v", checks)
	}
	if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "ext2"}, nil); err != nil {
		t.Fatal(err)
	}
	if svcs, _, _ := cat.Service("cache", "", nil); len(svcs) != 0 {
		t.Fatalf("services survived their node: %+v", svcs)
	}

	// Malformed registrations.
	for body, want := range map[string]string{
		`{"Address":"1.2.3.4"}`: "Must provide node",
		`{"Node":"x"}`:          "Must provide address",
		`{"Node":"x","Address":"1.2.3.4","Service":{}}`:                                "service name",
		`{"Node":"x","Address":"1.2.3.4","Check":{"CheckID":"c","ServiceID":"ghost"}}`: "Missing service",
		`{"Node":`: "decode",
	} {
		r := do(t, "PUT", base+"/v1/catalog/register", body)
		if r.code != 400 || !strings.Contains(r.body, want) {
			t.Errorf("register %s: %d %q, want 400 with %q", body, r.code, r.body, want)
		}
	}
}

func TestAgentServicesAndChecks(t *testing.T) {
	c, base := newClient(t)
	ag := c.Agent()
	err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: "web1", Name: "web", Tags: []string{"rails"}, Port: 8080,
		Meta: map[string]string{"v": "1"}, Check: &api.AgentServiceCheck{TTL: "30s"}})
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := ag.Services()
	if err != nil || svcs["web1"] == nil || svcs["web1"].Port != 8080 || svcs["consul"] != nil {
		t.Fatalf("agent services: %v %+v", err, svcs)
	}
	svcs, _ = ag.ServicesWithFilter(`Meta.v == "2"`)
	if len(svcs) != 0 {
		t.Fatalf("filter kept %v", svcs)
	}
	sv, _, err := ag.Service("web1", nil)
	if err != nil || sv.Service != "web" || sv.ContentHash == "" {
		t.Fatalf("agent service: %v %+v", err, sv)
	}
	if _, _, err := ag.Service("nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown service: %v", err)
	}

	// The registration is in the catalog when the call returns.
	entries, _, _ := c.Health().Service("web", "", false, nil)
	if len(entries) != 1 || len(entries[0].Checks) != 2 {
		t.Fatalf("health web right after register: %+v", entries)
	}

	status := func() string {
		st, _, err := ag.AgentHealthServiceByID("web1")
		if err != nil && !strings.Contains(err.Error(), "Unexpected response code") {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st != "critical" {
		t.Fatalf("new TTL check: %s", st)
	}
	if err := ag.PassTTL("service:web1", "fine"); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != "passing" {
		t.Fatalf("after pass: %s", st)
	}
	if err := ag.UpdateTTL("service:web1", "slow", api.HealthWarning); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != "warning" {
		t.Fatalf("after warn: %s", st)
	}
	// /v1/agent/health/service/name answers 429 for warning.
	if r := do(t, "GET", base+"/v1/agent/health/service/name/web?format=text", ""); r.code != 429 || r.body != "warning" {
		t.Fatalf("health by name: %d %q", r.code, r.body)
	}
	poll.True(t, 5*time.Second, "warning reaches the catalog", func() bool {
		checks, _, _ := c.Health().Checks("web", nil)
		return len(checks) == 1 && checks[0].Status == "warning" && checks[0].Output == "slow"
	})

	// Maintenance mode takes the service out of ?passing answers.
	if err := ag.PassTTL("service:web1", "ok"); err != nil {
		t.Fatal(err)
	}
	if err := ag.EnableServiceMaintenance("web1", "deploying"); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := c.Health().Service("web", "", true, nil); len(e) != 0 {
		t.Fatalf("service in maintenance is passing: %+v", e)
	}
	if err := ag.DisableServiceMaintenance("web1"); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := c.Health().Service("web", "", true, nil); len(e) != 1 {
		t.Fatalf("service out of maintenance not passing: %+v", e)
	}
	if err := ag.EnableNodeMaintenance(""); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := c.Health().Service("web", "", true, nil); len(e) != 0 {
		t.Fatal("node maintenance left the service passing")
	}
	if err := ag.DisableNodeMaintenance(); err != nil {
		t.Fatal(err)
	}

	// Node-level check, then deregistrations.
	if err := ag.CheckRegister(&api.AgentCheckRegistration{ID: "mem", Name: "memory",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatal(err)
	}
	checks, _ := ag.Checks()
	// serfHealth is the catalog's, not in the agent's list, as in Consul.
	if checks["mem"] == nil || checks["serfHealth"] != nil {
		t.Fatalf("agent checks: %v", checks)
	}
	if err := ag.CheckDeregister("mem"); err != nil {
		t.Fatal(err)
	}
	if err := ag.ServiceDeregister("web1"); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := c.Health().Service("web", "", false, nil); len(e) != 0 {
		t.Fatalf("deregistered service still in the catalog: %+v", e)
	}
	if err := ag.ServiceDeregister("web1"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("deregistering twice: %v", err)
	}

	// Malformed registrations are 400s that name the problem.
	for body, want := range map[string]string{
		`{"Port": 80}`: "Missing service name",
		`{"Name": "x", "Check": {"HTTP": "http://localhost/"}}`: "interval",
		`{"Name": `: "decode",
		`{"Name": "x", "Check": {"Args": ["/bin/true"], "Interval": "10s"}}`: "Scripts are disabled",
		`{"Name": "x", "Check": {"TTL": "soon"}}`:                            "duration",
	} {
		r := do(t, "PUT", base+"/v1/agent/service/register", body)
		if r.code != 400 || !strings.Contains(strings.ToLower(r.body), strings.ToLower(want)) {
			t.Errorf("register %s: %d %q, want 400 with %q", body, r.code, r.body, want)
		}
	}
}

// TestCriticalServiceIsDeregisteredOnTime registers a service whose HTTP
// check fails, with deregister_critical_service_after of one second: it
// must be gone within that plus one interval plus a second.
func TestCriticalServiceIsDeregisteredOnTime(t *testing.T) {
	c, _ := newClient(t)
	var healthy atomic.Bool
	healthy.Store(true)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer backend.Close()
	err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "api1", Name: "api", Port: 9000,
		Check: &api.AgentServiceCheck{HTTP: backend.URL, Interval: "200ms", Timeout: "100ms",
			DeregisterCriticalServiceAfter: "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	poll.True(t, 5*time.Second, "check passes", func() bool {
		e, _, _ := c.Health().Service("api", "", true, nil)
		return len(e) == 1
	})
	healthy.Store(false)
	start := time.Now()
	poll.True(t, 5*time.Second, "check turns critical", func() bool {
		e, _, _ := c.Health().Service("api", "", true, nil)
		return len(e) == 0
	})
	poll.True(t, 1*time.Second+200*time.Millisecond+time.Second, "service deregistered", func() bool {
		e, _, _ := c.Catalog().Service("api", "", nil)
		return len(e) == 0
	})
	if took := time.Since(start); took < time.Second {
		t.Fatalf("service deregistered after %v, before its critical time of 1s", took)
	}
}

func TestHealthBlockingQueryWakesOnItsService(t *testing.T) {
	c, _ := newClient(t)
	ag := c.Agent()
	for _, r := range []*api.AgentServiceRegistration{
		{ID: "a1", Name: "alpha", Check: &api.AgentServiceCheck{TTL: "1m"}},
		{ID: "b1", Name: "beta", Check: &api.AgentServiceCheck{TTL: "1m"}},
	} {
		if err := ag.ServiceRegister(r); err != nil {
			t.Fatal(err)
		}
	}
	_, meta, _ := c.Health().Service("alpha", "", false, nil)
	woke := make(chan []*api.ServiceEntry, 1)
	go func() {
		e, _, _ := c.Health().Service("alpha", "", true, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		woke <- e
	}()
	if err := ag.PassTTL("service:b1", ""); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-woke:
		t.Fatalf("a change to beta woke a query on alpha: %+v", e)
	case <-time.After(300 * time.Millisecond):
	}
	if err := ag.PassTTL("service:a1", ""); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-woke:
		if len(e) != 1 {
			t.Fatalf("woken with %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("health query on alpha did not wake when alpha passed")
	}
}
