package dnsserver_test

import (
	"testing"

	"github.com/heraldhq/herald/dnsserver"
	"github.com/heraldhq/herald/event"
)

// WANNode and WANService take the "wan" tagged address (and port) when
// there is one, copying rather than writing what the catalog holds.
func TestWANAddresses(t *testing.T) {
	n := &event.Node{Node: "n1", Address: "10.0.0.1", TaggedAddresses: map[string]string{"wan": "198.51.100.1"}}
	if got := dnsserver.WANNode(n); got.Address != "198.51.100.1" || n.Address != "10.0.0.1" {
		t.Errorf("node: %q, the catalog's now %q", got.Address, n.Address)
	}
	plain := &event.Node{Node: "n2", Address: "10.0.0.2", TaggedAddresses: map[string]string{"lan": "10.0.0.2"}}
	if got := dnsserver.WANNode(plain); got != plain {
		t.Errorf("a node without a wan address was copied: %+v", got)
	}
	s := &event.Service{Service: "web", Address: "10.0.0.3", Port: 80,
		TaggedAddresses: map[string]event.ServiceAddress{"wan": {Address: "198.51.100.3", Port: 8080}}}
	if got := dnsserver.WANService(s); got.Address != "198.51.100.3" || got.Port != 8080 || s.Port != 80 {
		t.Errorf("service: %s:%d, the catalog's now port %d", got.Address, got.Port, s.Port)
	}
	portOnly := &event.Service{Service: "web", Address: "10.0.0.4", Port: 80,
		TaggedAddresses: map[string]event.ServiceAddress{"wan": {Port: 8443}}}
	if got := dnsserver.WANService(portOnly); got.Address != "10.0.0.4" || got.Port != 8443 {
		t.Errorf("a wan port alone: %s:%d, want 10.0.0.4:8443", got.Address, got.Port)
	}
}
