package projections_test

import (
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// TestConnectIndexFollowsProxies: a change to an instance of a proxy's
// service name moves the mesh index of every service its instances front
// (and of the one a changed proxy fronted before), and nothing else's; a
// proxy gone no longer counts.
func TestConnectIndexFollowsProxies(t *testing.T) {
	c := projections.NewCatalog()
	node := &event.Node{Node: "n1", Address: "10.0.0.1"}
	proxy := func(id, dest string) *event.Service {
		return &event.Service{Node: "n1", ID: id, Service: "web-proxy", Kind: event.KindConnectProxy,
			Proxy: &event.ServiceProxy{DestinationServiceName: dest}}
	}
	update := func(index uint64, s *event.Service) {
		c.Apply(index, []event.Event{{Type: event.ServiceUpdated, Index: index, Service: s}})
	}
	remove := func(index uint64, s *event.Service) {
		c.Apply(index, []event.Event{{Type: event.ServiceDeleted, Index: index, Service: s}})
	}
	connectIndex := func(name string) uint64 {
		_, index, _ := c.ConnectInstances(name, false)
		return index
	}
	want := func(name string, index uint64) {
		t.Helper()
		if got := connectIndex(name); got != index {
			t.Errorf("mesh index of %s: %d, want %d", name, got, index)
		}
	}

	c.Apply(1, []event.Event{{Type: event.NodeUpdated, Index: 1, Node: node}})
	update(2, &event.Service{Node: "n1", ID: "web", Service: "web"})
	update(3, &event.Service{Node: "n1", ID: "api", Service: "api"})
	update(4, proxy("p1", "web"))
	update(5, proxy("p2", "web"))
	want("web", 5)
	want("api", 3)

	// p1 now fronts api: both are touched; p2 still fronts web.
	update(6, proxy("p1", "api"))
	want("web", 6)
	want("api", 6)
	// A change to p2 touches both: they are instances of one name.
	update(7, proxy("p2", "web"))
	want("web", 7)
	want("api", 7)
	// An instance of web, not a proxy, touches web only.
	update(8, &event.Service{Node: "n1", ID: "web2", Service: "web"})
	want("web", 8)
	want("api", 7)

	// p1 gone: api for p1, web for p2 still an instance of the name.
	remove(9, proxy("p1", "api"))
	want("api", 9)
	want("web", 9)
	// p2 gone: web only; api has no proxy left.
	remove(10, proxy("p2", "web"))
	want("web", 10)
	want("api", 9)
	// With no proxy left, a change to the proxy name touches no service.
	update(11, &event.Service{Node: "n1", ID: "plain", Service: "web-proxy"})
	want("web", 10)
	want("api", 9)
}
