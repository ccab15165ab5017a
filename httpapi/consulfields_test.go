package httpapi_test

import (
	"testing"

	"github.com/hashicorp/consul/api"
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
