package dnsserver

import (
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// The service mesh's names: <service>.connect[.dc] answers the instances
// that accept mesh connections for the service (its proxies and its
// Connect-native instances), healthy ones only, as Consul does.

// ConnectCatalog is a Catalog that also knows the mesh instances of a
// service; a Catalog without it answers no .connect name.
type ConnectCatalog interface {
	ConnectInstances(service string) []Instance
}

func (p projectionCatalog) ConnectInstances(service string) []Instance {
	list, _, _ := p.c.ConnectInstances(service, false)
	return list
}

// parseConnect reads the labels before "connect" or "ingress": one
// service name, no tag.
func parseConnect(n name, parts []string, ingress bool) name {
	if len(parts) == 1 && parts[0] != "" {
		n.service, n.kind = parts[0], kindService
		n.connect, n.ingress = !ingress, ingress
	}
	return n
}

// IngressCatalog is a Catalog that also knows the ingress gateways to a
// service; a Catalog without it answers no .ingress name.
type IngressCatalog interface {
	IngressInstances(service string) []Instance
}

// FromProjections is FromProjection that also answers .ingress names from
// the ingress gateways' config entries.
func FromProjections(c *projections.Catalog, entries *projections.ConfigEntries) Catalog {
	return projectionCatalog{c: c, entries: entries}
}

func (p projectionCatalog) IngressInstances(service string) []Instance {
	if p.entries == nil {
		return nil
	}
	var out []Instance
	for _, gw := range p.entries.IngressGatewaysFor(service) {
		list, _, _ := p.c.ServiceInstances(gw, false)
		for _, in := range list {
			if in.Service.Kind == event.KindIngressGateway {
				out = append(out, in)
			}
		}
	}
	return out
}

func (c aclCatalog) IngressInstances(service string) []Instance {
	ic, ok := c.cat.(IngressCatalog)
	if !ok {
		return nil
	}
	return c.readable(ic.IngressInstances(service))
}

// instancesFor is every instance a service name asks for, whatever its
// health.
func (s *Server) instancesFor(n name) []Instance {
	if n.ingress {
		if ic, ok := s.cat.(IngressCatalog); ok {
			return ic.IngressInstances(n.service)
		}
		return nil
	}
	if !n.connect {
		return s.cat.ServiceInstances(n.service)
	}
	if cc, ok := s.cat.(ConnectCatalog); ok {
		return cc.ConnectInstances(n.service)
	}
	return nil
}

func (c aclCatalog) ConnectInstances(service string) []Instance {
	cc, ok := c.cat.(ConnectCatalog)
	if !ok {
		return nil
	}
	return c.readable(cc.ConnectInstances(service))
}
