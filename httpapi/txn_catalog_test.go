package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

// /v1/txn takes Consul's Node, Service and Check ops, all or nothing, and
// refuses to mix them with KV ops, which live in another Raft shard.
func TestTxnCatalogOps(t *testing.T) {
	c, base := newClient(t)
	txn := c.Txn()

	ok, res, _, err := txn.Txn(api.TxnOps{
		{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "ext1", Address: "10.0.0.1", Meta: map[string]string{"rack": "a"}}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "ext1", Service: api.AgentService{ID: "db1", Service: "db", Port: 5432, Tags: []string{"primary"}}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: "ext1", CheckID: "db1-alive", Name: "alive", Status: api.HealthPassing, ServiceID: "db1"}}},
	}, nil)
	if err != nil || !ok || len(res.Results) != 3 {
		t.Fatalf("catalog txn: ok=%v %+v %v", ok, res, err)
	}
	node, svc, chk := res.Results[0].Node, res.Results[1].Service, res.Results[2].Check
	if node == nil || node.Address != "10.0.0.1" || node.Meta["rack"] != "a" || svc == nil || svc.Port != 5432 ||
		chk == nil || chk.Status != api.HealthPassing || chk.ServiceName != "db" {
		t.Fatalf("results: %+v %+v %+v", node, svc, chk)
	}
	entries, _, err := c.Health().Service("db", "", true, nil)
	if err != nil || len(entries) != 1 || entries[0].Node.Node != "ext1" {
		t.Fatalf("health of the service the txn registered: %v %+v", err, entries)
	}

	// A stale cas and a missing service: both reported, nothing written,
	// not even the set before them.
	ok, res, _, err = txn.Txn(api.TxnOps{
		{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "ext2", Address: "10.0.0.2"}}},
		{Node: &api.NodeTxnOp{Verb: api.NodeCAS, Node: api.Node{Node: "ext1", Address: "10.9.9.9", ModifyIndex: node.ModifyIndex + 100}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceGet, Node: "ext1", Service: api.AgentService{ID: "nope"}}},
	}, nil)
	if err != nil || ok || len(res.Errors) != 2 || res.Errors[0].OpIndex != 1 ||
		res.Errors[0].What != `failed to set node "ext1", index is stale` || res.Errors[1].What != `service "nope" on node "ext1" doesn't exist` {
		t.Fatalf("failing catalog txn: ok=%v %+v %v", ok, res, err)
	}
	if n, _, _ := c.Catalog().Node("ext2", nil); n != nil {
		t.Fatalf("a failed transaction registered ext2: %+v", n.Node)
	}

	// cas at the current index, get, and delete-cas.
	ok, res, _, err = txn.Txn(api.TxnOps{
		{Node: &api.NodeTxnOp{Verb: api.NodeCAS, Node: api.Node{Node: "ext1", Address: "10.0.0.9", ModifyIndex: node.ModifyIndex}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckGet, Check: api.HealthCheck{Node: "ext1", CheckID: "db1-alive"}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceDeleteCAS, Node: "ext1", Service: api.AgentService{ID: "db1", ModifyIndex: svc.ModifyIndex}}},
	}, nil)
	if err != nil || !ok || len(res.Results) != 2 || res.Results[0].Node.Address != "10.0.0.9" || res.Results[1].Check.CheckID != "db1-alive" {
		t.Fatalf("cas, get, delete-cas: ok=%v %+v %v", ok, res, err)
	}
	if svcs, _, _ := c.Catalog().Service("db", "", nil); len(svcs) != 0 {
		t.Fatalf("db after delete-cas: %+v", svcs)
	}

	// KV and catalog ops together cannot be atomic across shards.
	_, _, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "k", Value: []byte("v")}},
		{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "ext1"}}},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot mix KV operations") {
		t.Fatalf("mixed txn: %v", err)
	}
	if r := do(t, "PUT", base+"/v1/txn", `[{"KV": {"Verb": "get", "Key": "k"}}, {"Node": {"Verb": "get", "Node": {"Node": "ext1"}}}]`); r.code != http.StatusBadRequest {
		t.Fatalf("mixed txn: %d %s", r.code, r.body)
	}
	if p, _, _ := c.KV().Get("k", nil); p != nil {
		t.Fatalf("the refused mixed txn wrote k")
	}
	// An unknown verb is a 409 naming the op, as Consul reports it.
	r := do(t, "PUT", base+"/v1/txn", `[{"Node": {"Verb": "frob", "Node": {"Node": "ext1"}}}]`)
	if r.code != http.StatusConflict || !strings.Contains(r.body, `unknown Node verb \"frob\"`) {
		t.Fatalf("unknown verb: %d %s", r.code, r.body)
	}
}
