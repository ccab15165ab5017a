package statemachine

import (
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

func nodeOp(verb, name, addr string, index uint64) command.CatalogOp {
	return command.CatalogOp{Kind: command.CatalogOpNode, Verb: verb, Node: event.Node{Node: name, Address: addr}, Index: index}
}

func serviceOp(verb, node string, svc *event.Service, index uint64) command.CatalogOp {
	return command.CatalogOp{Kind: command.CatalogOpService, Verb: verb, Node: event.Node{Node: node}, Service: svc, Index: index}
}

func checkOp(verb, node string, c event.Check, index uint64) command.CatalogOp {
	c.Node = node
	return command.CatalogOp{Kind: command.CatalogOpCheck, Verb: verb, Check: &c, Index: index}
}

func catalogTxn(ops ...command.CatalogOp) *command.CatalogTxnBody {
	return &command.CatalogTxnBody{Ops: ops}
}

func TestCatalogTxnRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "a node, its service and a check in one transaction",
		apply: catalogTxn(nodeOp("set", "n1", "10.0.0.1", 0), serviceOp("set", "n1", service("web1", "web", 80), 0),
			checkOp("set", "n1", check("web1-alive", "web1", event.HealthPassing), 0)),
		events: []string{
			"catalog.node.updated n1 addr=10.0.0.1 @1/1",
			"catalog.service.updated web id=web1 node=n1 port=80 @1/1",
			"catalog.check.updated web1-alive node=n1 svc=web1 status=passing @1/1",
		},
	}, {
		name:   "cas with the current index updates; gets report",
		setup:  web1,
		apply:  catalogTxn(nodeOp("cas", "n1", "10.0.0.2", 1), serviceOp("get", "n1", service("web1", "", 0), 0)),
		events: []string{"catalog.node.updated n1 addr=10.0.0.2 @1/2"},
	}, {
		name:  "delete-cas of a service takes its checks",
		setup: web1,
		apply: catalogTxn(serviceOp("delete-cas", "n1", service("web1", "", 0), 1)),
		events: []string{
			"catalog.check.deleted web1-alive node=n1 svc=web1 status=passing @1/1",
			"catalog.service.deleted web id=web1 node=n1 port=80 tags=v1 @1/1",
		},
	}})
}

// A transaction with failing ops reports every failure, with Consul's
// messages, and changes nothing, not even through its succeeding ops.
func TestCatalogTxnAllOrNothing(t *testing.T) {
	s := open(t, Config{Sink: &recordingSink{}, Shard: event.ShardCatalog})
	for i, b := range web1 {
		if res := update(t, s, ruleEntry(t, uint64(i+1), ruleT0, b))[0].Result; res.Value != command.ResultSucceeded {
			t.Fatalf("setup: %s", res.Data)
		}
	}
	before := dataDump(t, s)
	res := update(t, s, ruleEntry(t, 2, ruleT0, catalogTxn(
		nodeOp("set", "n2", "10.0.0.2", 0),
		nodeOp("cas", "n1", "10.9.9.9", 7),
		serviceOp("get", "n1", service("nope", "", 0), 0),
		checkOp("delete-cas", "n1", check("web1-alive", "", ""), 9),
		serviceOp("set", "ghost", service("x", "x", 1), 0),
		nodeOp("frobnicate", "n1", "", 0),
	)))[0].Result
	r, err := command.DecodeResult(res.Value, res.Data)
	if err != nil || r.Succeeded || r.Txn == nil {
		t.Fatalf("result %+v %v", r, err)
	}
	want := []command.KVTxnError{
		{OpIndex: 1, What: `failed to set node "n1", index is stale`},
		{OpIndex: 2, What: `service "nope" on node "n1" doesn't exist`},
		{OpIndex: 3, What: `failed to delete check "web1-alive" on node "n1", index is stale`},
		{OpIndex: 4, What: "Missing node registration"},
		{OpIndex: 5, What: `unknown Node verb "frobnicate"`},
	}
	if len(r.Txn.Errors) != len(want) {
		t.Fatalf("errors %+v", r.Txn.Errors)
	}
	for i := range want {
		if r.Txn.Errors[i] != want[i] {
			t.Errorf("error %d: %+v, want %+v", i, r.Txn.Errors[i], want[i])
		}
	}
	if dataDump(t, s) != before {
		t.Fatal("a failed transaction changed the state")
	}
}
