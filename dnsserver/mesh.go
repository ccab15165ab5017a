package dnsserver

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

// parseConnect reads the labels before "connect": one service name, no
// tag.
func parseConnect(n name, parts []string) name {
	if len(parts) == 1 && parts[0] != "" {
		n.service, n.kind, n.connect = parts[0], kindService, true
	}
	return n
}

// instancesFor is every instance a service name asks for, whatever its
// health.
func (s *Server) instancesFor(n name) []Instance {
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
