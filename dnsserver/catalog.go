package dnsserver

import "github.com/heraldhq/herald/event"

// Instance is one service instance with the node it runs on and every check
// that applies to it (the node's checks and the service's).
type Instance struct {
	Node    *event.Node
	Service *event.Service
	Checks  []*event.Check
}

// Catalog is the read model the DNS server answers from. Its methods are
// called concurrently from every query in flight, so they must be safe for
// concurrent use and cheap: they are on the path of each DNS answer. The
// server treats what they return as read-only and never keeps it.
type Catalog interface {
	// ServiceInstances returns every instance of the service, whatever its
	// health; the name matches case-insensitively.
	ServiceInstances(service string) []Instance
	// Node returns the node by name, case-insensitively.
	Node(name string) (*event.Node, bool)
}
