package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/mitchellh/hashstructure"
)

// A service registered with SkipNodeUpdate on a node the catalog does not
// know yet creates the node, as Consul does, instead of being refused.
func TestCatalogRegisterSkipNodeUpdateCreatesNode(t *testing.T) {
	c, _ := newClient(t)
	cat := c.Catalog()
	if _, err := cat.Register(&api.CatalogRegistration{
		Node:           "ext-new",
		SkipNodeUpdate: true,
		Service:        &api.AgentService{ID: "web1", Service: "web", Port: 80},
	}, nil); err != nil {
		t.Fatalf("register: %v", err)
	}
	node, _, err := cat.Node("ext-new", nil)
	if err != nil || node == nil || node.Node == nil {
		t.Fatalf("node ext-new: %v %+v", err, node)
	}
	if node.Node.Address != "" || node.Services["web1"] == nil || node.Services["web1"].Port != 80 {
		t.Fatalf("node ext-new: %+v services %+v", node.Node, node.Services)
	}
}

// A lock by a session that does not exist is Consul's 500 `invalid session
// "<id>"`, not a false; a GET of the empty key without ?recurse or ?keys is
// 400 Missing key name; a failing transaction lists every failing op.
func TestKVErrorsAsConsul(t *testing.T) {
	c, base := newClient(t)
	kv := c.KV()

	const bogus = "6f1d9a2c-0000-4000-8000-000000000000"
	ok, _, err := kv.Acquire(&api.KVPair{Key: "locked", Session: bogus}, nil)
	if err == nil || ok || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), `invalid session "`+bogus+`"`) {
		t.Fatalf("acquire with an unknown session: ok=%v err=%v", ok, err)
	}
	sid, _, err := c.Session().Create(&api.SessionEntry{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := kv.Acquire(&api.KVPair{Key: "locked", Session: sid}, nil); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	// Releasing with a session that does not hold the key stays a false.
	if ok, _, err := kv.Release(&api.KVPair{Key: "locked", Session: bogus}, nil); err != nil || ok {
		t.Fatalf("release by another session: %v %v", ok, err)
	}

	resp, err := http.Get(base + "/v1/kv/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.TrimSpace(string(body)) != "Missing key name" {
		t.Fatalf("GET /v1/kv/: %d %q", resp.StatusCode, body)
	}
	if keys, _, err := kv.Keys("", "", nil); err != nil || !slices.Contains(keys, "locked") {
		t.Fatalf("keys of the whole store: %v %v", keys, err)
	}

	mustPut(t, kv, "present", "v")
	ok, txr, _, err := c.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "new", Value: []byte("x")}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "absent", Index: 1}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "present"}},
		{KV: &api.KVTxnOp{Verb: api.KVLock, Key: "other", Session: bogus}},
	}, nil)
	if err != nil || ok || txr == nil {
		t.Fatalf("failing txn: ok=%v %+v %v", ok, txr, err)
	}
	want := []string{`1:key "absent" doesn't exist`, `2:key "present" exists`, `3:invalid session "` + bogus + `"`}
	var got []string
	for _, e := range txr.Errors {
		got = append(got, fmt.Sprintf("%d:%s", e.OpIndex, e.What))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("txn errors:\n got %q\nwant %q", got, want)
	}
	if p, _, _ := kv.Get("new", nil); p != nil {
		t.Fatalf("a failed transaction wrote %+v", p)
	}
}

// /v1/agent/service/:id carries Consul's ContentHash (and the
// X-Consul-ContentHash header), and ?hash= blocks until the service changes.
func TestAgentServiceContentHashBlocking(t *testing.T) {
	c, _ := newClient(t)
	ag := c.Agent()
	reg := &api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 80, Tags: []string{"v1"}, Meta: map[string]string{"a": "b"}}
	if err := ag.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	svc, meta, err := ag.Service("web-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The hash Consul's agent computes for the same definition.
	want, err := hashstructure.Hash(&api.AgentService{ID: "web-1", Service: "web", Port: 80, Tags: []string{"v1"},
		Meta: map[string]string{"a": "b"}, Weights: api.AgentWeights{Passing: 1, Warning: 1}, Datacenter: "dc1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.ContentHash != fmt.Sprintf("%x", want) || meta.LastContentHash != svc.ContentHash {
		t.Fatalf("ContentHash %q header %q, want %x", svc.ContentHash, meta.LastContentHash, want)
	}

	// An unchanged service: the wait runs out and the same hash comes back.
	same, _, err := ag.Service("web-1", &api.QueryOptions{WaitHash: svc.ContentHash, WaitTime: 50 * time.Millisecond})
	if err != nil || same.ContentHash != svc.ContentHash {
		t.Fatalf("blocking on an unchanged service: %v %+v", err, same)
	}

	type answer struct {
		svc *api.AgentService
		err error
	}
	got := make(chan answer, 1)
	go func() {
		s, _, err := ag.Service("web-1", &api.QueryOptions{WaitHash: svc.ContentHash, WaitTime: time.Minute})
		got <- answer{s, err}
	}()
	reg.Tags = []string{"v2"}
	if err := ag.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	a := <-got
	if a.err != nil || a.svc.ContentHash == svc.ContentHash || len(a.svc.Tags) != 1 || a.svc.Tags[0] != "v2" {
		t.Fatalf("blocking query after a change: %v %+v", a.err, a.svc)
	}
}

// Sessions answer Consul's NodeChecks without the deprecated Checks, and
// follow Consul's defaults for the two; /v1/agent/checks leaves out
// serfHealth, which only the catalog shows.
func TestSessionChecksAndAgentChecksAsConsul(t *testing.T) {
	c, base := newClient(t)
	sess := c.Session()
	info := func(id string) map[string]any {
		t.Helper()
		r := do(t, "GET", base+"/v1/session/info/"+id, "")
		var list []map[string]any
		if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list) != 1 {
			t.Fatalf("session info %s: %v %s", id, err, r.body)
		}
		return list[0]
	}
	none, _, err := sess.CreateNoChecks(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := info(none); s["Checks"] != nil || fmt.Sprint(s["NodeChecks"]) != "[]" {
		t.Fatalf("session without checks: Checks %v NodeChecks %v", s["Checks"], s["NodeChecks"])
	}
	def, _, err := sess.Create(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := info(def); s["Checks"] != nil || fmt.Sprint(s["NodeChecks"]) != "[serfHealth]" {
		t.Fatalf("default session: Checks %v NodeChecks %v", s["Checks"], s["NodeChecks"])
	}
	// The pre-1.7 way to ask for no checks: an empty Checks.
	r := do(t, "PUT", base+"/v1/session/create", `{"Checks": []}`)
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(r.body), &created); err != nil || created.ID == "" {
		t.Fatalf("create with empty Checks: %d %s", r.code, r.body)
	}
	if s := info(created.ID); fmt.Sprint(s["NodeChecks"]) != "[]" {
		t.Fatalf("session with empty Checks: NodeChecks %v", s["NodeChecks"])
	}

	checks, err := c.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := checks["serfHealth"]; ok {
		t.Fatalf("agent checks list serfHealth: %v", checks)
	}
	self, err := c.Agent().NodeName()
	if err != nil {
		t.Fatal(err)
	}
	hc, _, err := c.Health().Node(self, nil)
	if err != nil || len(hc) == 0 || hc[0].CheckID != "serfHealth" {
		t.Fatalf("the catalog keeps serfHealth: %v %v", err, hc)
	}
}

// GET /v1/snapshot carries the leader headers, /v1/catalog/services takes
// ?filter over its instances, and ?cached reads say X-Cache HIT or MISS.
func TestSnapshotHeadersServicesFilterCached(t *testing.T) {
	c, base := newClient(t)
	cat := c.Catalog()
	for _, reg := range []*api.CatalogRegistration{
		{Node: "ext1", Address: "10.0.0.1", Service: &api.AgentService{ID: "db1", Service: "db", Tags: []string{"primary"}, Meta: map[string]string{"v": "1"}}},
		{Node: "ext2", Address: "10.0.0.2", Service: &api.AgentService{ID: "db2", Service: "db", Tags: []string{"replica"}}},
		{Node: "ext2", Address: "10.0.0.2", Service: &api.AgentService{ID: "web1", Service: "web"}},
	} {
		if _, err := cat.Register(reg, nil); err != nil {
			t.Fatal(err)
		}
	}

	r := do(t, "GET", base+"/v1/snapshot", "")
	if r.code != http.StatusOK || r.header.Get("X-Consul-KnownLeader") != "true" || r.header.Get("X-Consul-LastContact") == "" ||
		r.header.Get("X-Consul-Index") == "" {
		t.Fatalf("snapshot: %d %v", r.code, r.header)
	}

	services, _, err := cat.Services(&api.QueryOptions{Filter: `ServiceMeta.v == "1"`})
	if err != nil || len(services) != 1 || !slices.Equal(services["db"], []string{"primary"}) {
		t.Fatalf("services filtered on meta: %v %v", err, services)
	}
	services, _, err = cat.Services(&api.QueryOptions{Filter: `Address == "10.0.0.2"`})
	if err != nil || len(services) != 2 || !slices.Equal(services["db"], []string{"replica"}) || services["web"] == nil {
		t.Fatalf("services filtered on node address: %v %v", err, services)
	}
	if _, _, err := cat.Services(&api.QueryOptions{Filter: `Address ==`}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("bad filter: %v", err)
	}

	first := do(t, "GET", base+"/v1/catalog/service/db?cached", "")
	again := do(t, "GET", base+"/v1/catalog/service/db?cached", "")
	if first.header.Get("X-Cache") != "MISS" || again.header.Get("X-Cache") != "HIT" || again.header.Get("Age") == "" {
		t.Fatalf("?cached: first %v, again %v", first.header, again.header)
	}
	if plain := do(t, "GET", base+"/v1/catalog/service/db", ""); plain.header.Get("X-Cache") != "" {
		t.Fatalf("X-Cache without ?cached: %v", plain.header)
	}
	_, meta, err := cat.Services(&api.QueryOptions{UseCache: true})
	if err != nil || (meta.CacheHit && meta.CacheAge < 0) {
		t.Fatalf("services ?cached: %v %+v", err, meta)
	}
	if _, meta, err = cat.Services(&api.QueryOptions{UseCache: true}); err != nil || !meta.CacheHit {
		t.Fatalf("services ?cached again: %v %+v", err, meta)
	}
}

// A read-only transaction's check-session passes for the session holding
// the key (it failed for every session, as "invalid session").
func TestTxnReadOnlyCheckSession(t *testing.T) {
	c, _ := newClient(t)
	sid, _, err := c.Session().Create(&api.SessionEntry{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := c.KV().Acquire(&api.KVPair{Key: "held", Session: sid}, nil); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	ok, res, _, err := c.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVCheckSession, Key: "held", Session: sid}}}, nil)
	if err != nil || !ok || len(res.Results) != 1 || res.Results[0].KV.Session != sid {
		t.Fatalf("check-session by the holder: ok=%v %+v %v", ok, res, err)
	}
	ok, res, _, err = c.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVCheckSession, Key: "held", Session: "other"}}}, nil)
	if err != nil || ok || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].What, "failed session check") {
		t.Fatalf("check-session by another: ok=%v %+v %v", ok, res, err)
	}
}
