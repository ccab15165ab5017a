package dnsserver

import (
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// Instance is one service instance with the node it runs on and every check
// that applies to it (the node's checks and the service's). It is the
// catalog projection's own type, so answers need no copying.
type Instance = projections.Instance

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

// FromProjection is the Catalog of the catalog projection, the one an
// agent answers from.
func FromProjection(c *projections.Catalog) Catalog { return projectionCatalog{c: c} }

type projectionCatalog struct {
	c *projections.Catalog
	// entries are the config entries the .ingress names follow (mesh.go);
	// nil: none.
	entries *projections.ConfigEntries
}

func (p projectionCatalog) ServiceInstances(service string) []Instance {
	list, _, _ := p.c.ServiceInstances(service, false)
	return list
}

func (p projectionCatalog) Node(name string) (*event.Node, bool) {
	info, _, _ := p.c.Node(name, false)
	if info == nil {
		return nil, false
	}
	return info.Node, true
}
