package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestTxnAppliesAllOrNothing(t *testing.T) {
	c, _ := newClient(t)
	kv := c.KV()
	mustPut(t, kv, "acct/a", "100")
	a, _, _ := kv.Get("acct/a", nil)

	// Success: every op applies, results in Consul's shape.
	ok, resp, _, err := c.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "acct/a", Index: a.ModifyIndex}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "acct/a", Value: []byte("90")}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "acct/b", Value: []byte("10"), Flags: 7}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "acct/b"}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "acct/c"}},
	}, nil)
	if err != nil || !ok {
		t.Fatalf("txn: %v %v %+v", ok, err, resp)
	}
	if len(resp.Results) != 4 {
		t.Fatalf("results: %d, want 4 (check-index, set, set, get)", len(resp.Results))
	}
	if resp.Results[1].KV.Value != nil {
		t.Fatal("a set's result carries the value")
	}
	if got := resp.Results[3].KV; string(got.Value) != "10" || got.Flags != 7 {
		t.Fatalf("get within txn: %+v", got)
	}

	// Failure: the set before the failing CAS must not apply.
	b, _, _ := kv.Get("acct/b", nil)
	ok, resp, _, err = c.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "acct/a", Value: []byte("0")}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "acct/b", Value: []byte("999"), Index: b.ModifyIndex + 100}},
		{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: "acct/b"}},
	}, nil)
	if err != nil || ok {
		t.Fatalf("failing txn: ok=%v err=%v", ok, err)
	}
	if len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 1 || !strings.Contains(resp.Errors[0].What, "index is stale") {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	if p, _, _ := kv.Get("acct/a", nil); string(p.Value) != "90" {
		t.Fatalf("rolled-back txn changed acct/a to %q", p.Value)
	}
	if p, _, _ := kv.Get("acct/b", nil); p == nil || string(p.Value) != "10" {
		t.Fatalf("rolled-back txn changed acct/b: %+v", p)
	}

	// Read-only transactions answer without a write.
	ok, resp, _, err = c.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVGetTree, Key: "acct/"}},
	}, nil)
	if err != nil || !ok || len(resp.Results) != 2 {
		t.Fatalf("read-only txn: %v %v %+v", ok, err, resp)
	}
	ok, resp, _, _ = c.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "acct/none"}}}, nil)
	if ok || len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].What, "doesn't exist") {
		t.Fatalf("get of a missing key: %v %+v", ok, resp)
	}
}

func TestTxnLimitsAndVerbs(t *testing.T) {
	_, base := newClient(t)
	ops := make([]map[string]any, 129)
	for i := range ops {
		ops[i] = map[string]any{"KV": map[string]any{"Verb": "set", "Key": fmt.Sprintf("k%d", i)}}
	}
	body, _ := json.Marshal(ops)
	r := do(t, "PUT", base+"/v1/txn", string(body))
	if r.code != 413 || !strings.Contains(r.body, "too many operations") {
		t.Fatalf("129 ops: %d %s", r.code, r.body)
	}
	body, _ = json.Marshal(ops[:128])
	if r := do(t, "PUT", base+"/v1/txn", string(body)); r.code != 200 {
		t.Fatalf("128 ops: %d %s", r.code, r.body)
	}

	r = do(t, "PUT", base+"/v1/txn", `[{"KV":{"Verb":"set","Key":"x"}},{"KV":{"Verb":"frobnicate","Key":"y"}}]`)
	if r.code != 409 || !strings.Contains(r.body, `"OpIndex":1`) || !strings.Contains(r.body, "unknown KV verb") {
		t.Fatalf("unknown verb: %d %s", r.code, r.body)
	}
	if r := do(t, "GET", base+"/v1/kv/x", ""); r.code != 404 {
		t.Fatalf("a txn refused for its verb wrote x: %d", r.code)
	}
}

func TestStatusAndSelf(t *testing.T) {
	c, _ := newClient(t)
	leader, err := c.Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader: %q %v", leader, err)
	}
	peers, err := c.Status().Peers()
	if err != nil || len(peers) != 1 || peers[0] != leader {
		t.Fatalf("peers: %v %v (leader %s)", peers, err, leader)
	}
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if self["Config"]["Datacenter"] != "dc1" || self["Config"]["Server"] != true || self["Config"]["NodeName"] == "" {
		t.Fatalf("self config: %v", self["Config"])
	}
	name, err := c.Agent().NodeName()
	if err != nil || name == "" {
		t.Fatalf("node name: %q %v", name, err)
	}
}
