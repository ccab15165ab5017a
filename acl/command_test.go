package acl_test

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// grantList is a test authorizer granting exactly the listed
// "resource:name:access" triples (write implying read).
type grantList map[string]bool

func (g grantList) Allowed(r acl.Resource, name string, need acl.Access) bool {
	if g[string(r)+":"+name+":"+need.String()] {
		return true
	}
	return need == acl.Read && g[string(r)+":"+name+":write"]
}
func (g grantList) AllowedPrefix(r acl.Resource, prefix string, need acl.Access) bool {
	return g.Allowed(r, prefix+"*", need)
}

// fixedState names the things the commands refer to by ID.
type fixedState struct{}

func (fixedState) NodeService(node, id string) (string, bool) {
	if node == "n1" && id == "web1" {
		return "web", true
	}
	return "", false
}
func (fixedState) NodeCheck(node, id string) (string, bool) {
	switch {
	case node == "n1" && id == "web-check":
		return "web", true
	case node == "n1" && id == "node-check":
		return "", true
	}
	return "", false
}
func (fixedState) SessionNode(id string) (string, bool) { return "n1", id == "s1" }
func (fixedState) QueryName(id string) (string, bool)   { return "old-name", id == "q1" }

func TestAuthorizeCommand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grants grantList
		body   command.Body
		denied string // the permission refused, "" when allowed
	}{
		{"kv set", grantList{"key:a:write": true}, &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "a"}}, ""},
		{"kv set without", grantList{"key:a:read": true}, &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "a"}}, `'key:write' on "a"`},
		{"kv check-index needs read", grantList{"key:a:read": true}, &command.KVBody{Op: command.KVOp{Verb: command.KVCheckIndex, Key: "a"}}, ""},
		{"kv delete-tree needs the prefix", grantList{"key:a:write": true}, &command.KVBody{Op: command.KVOp{Verb: command.KVDeleteTree, Key: "a"}}, `'key:write' on "a"`},
		{"kv delete-tree", grantList{"key:a*:write": true}, &command.KVBody{Op: command.KVOp{Verb: command.KVDeleteTree, Key: "a"}}, ""},
		{"register", grantList{"node:n1:write": true, "service:web:write": true},
			&command.CatalogRegisterBody{Node: event.Node{Node: "n1"}, Service: &event.Service{ID: "web1", Service: "web"}}, ""},
		{"register without node", grantList{"service:web:write": true},
			&command.CatalogRegisterBody{Node: event.Node{Node: "n1"}, Service: &event.Service{ID: "web1", Service: "web"}}, `'node:write' on "n1"`},
		{"register leaving the node", grantList{"service:web:write": true},
			&command.CatalogRegisterBody{Node: event.Node{Node: "n1"}, SkipNodeUpdate: true, Service: &event.Service{ID: "web1", Service: "web"}}, ""},
		{"rename an instance", grantList{"service:api:write": true},
			&command.CatalogRegisterBody{Node: event.Node{Node: "n1"}, SkipNodeUpdate: true, Service: &event.Service{ID: "web1", Service: "api"}}, `'service:write' on "web"`},
		{"node check", grantList{"service:web:write": true},
			&command.CatalogRegisterBody{Node: event.Node{Node: "n1"}, SkipNodeUpdate: true, Checks: []event.Check{{CheckID: "c"}}}, `'node:write' on "n1"`},
		{"deregister with node write", grantList{"node:n1:write": true}, &command.CatalogDeregisterBody{Node: "n1", ServiceID: "web1"}, ""},
		{"deregister a service", grantList{"service:web:write": true}, &command.CatalogDeregisterBody{Node: "n1", ServiceID: "web1"}, ""},
		{"deregister another service", grantList{"service:db:write": true}, &command.CatalogDeregisterBody{Node: "n1", ServiceID: "web1"}, `'service:write' on "web"`},
		{"check status of a service", grantList{"service:web:write": true}, &command.CheckStatusBody{Node: "n1", CheckID: "web-check"}, ""},
		{"check status of the node", grantList{"service:web:write": true}, &command.CheckStatusBody{Node: "n1", CheckID: "node-check"}, `'node:write' on "n1"`},
		{"session create", grantList{"session:n1:write": true}, &command.SessionCreateBody{Session: event.Session{Node: "n1"}}, ""},
		{"session destroy", grantList{"session:n2:write": true}, &command.SessionDestroyBody{ID: "s1"}, `'session:write' on "n1"`},
		{"query create", grantList{"query:new:write": true}, &command.QuerySetBody{Create: true, Query: event.PreparedQuery{ID: "q2", Name: "new"}}, ""},
		{"query rename", grantList{"query:new:write": true}, &command.QuerySetBody{Query: event.PreparedQuery{ID: "q1", Name: "new"}}, `'query:write' on "old-name"`},
		{"query delete", grantList{"query:old-name:write": true}, &command.QueryDeleteBody{ID: "q1"}, ""},
		{"autopilot", grantList{"operator::read": true}, &command.AutopilotSetBody{}, "'operator:write'"},
		{"restore", grantList{"operator::write": true}, &command.RestoreBody{}, "'acl:write'"},
		{"catalog txn", grantList{"node:n1:write": true},
			&command.CatalogTxnBody{Ops: []command.CatalogOp{{Kind: command.CatalogOpNode, Verb: "set", Node: event.Node{Node: "n1"}},
				{Kind: command.CatalogOpService, Verb: "set", Node: event.Node{Node: "n1"}, Service: &event.Service{ID: "x", Service: "x"}}}},
			`'service:write' on "x"`},
	} {
		id := acl.Identity{AccessorID: "acc", Authorizer: tc.grants}
		err := acl.AuthorizeCommand(id, command.Command{Body: tc.body}, fixedState{})
		switch {
		case tc.denied == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.denied != "" && (err == nil || !acl.IsPermissionDenied(err) || !strings.Contains(err.Error(), "lacks permission "+tc.denied)):
			t.Errorf("%s: %v, want a refusal of %s", tc.name, err, tc.denied)
		}
	}
	// A transaction's refusal names its operation.
	err := acl.AuthorizeCommand(acl.Identity{Authorizer: grantList{"key:a:write": true}}, command.Command{Body: &command.KVTxnBody{Ops: []command.KVOp{
		{Verb: command.KVSet, Key: "a"}, {Verb: command.KVGet, Key: "z"}, {Verb: command.KVSet, Key: "b"}}}}, nil)
	if op, ok := acl.AsOpError(err); !ok || op.Index != 2 {
		t.Fatalf("txn refusal: %v", err)
	}
}
