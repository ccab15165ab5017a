package dnsserver

import (
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/preparedquery"
)

// TaggedWAN is the tagged address of a node or service that other
// datacenters reach it at, Consul's "wan".
const TaggedWAN = "wan"

// WithWANAddresses returns cat with every node's address replaced by its
// "wan" tagged address and every service's address and port by its "wan"
// tagged address, where they are set: the catalog as another datacenter
// sees it under Consul's translate_wan_addrs. It runs prepared queries,
// .connect and .ingress names when cat does.
func WithWANAddresses(cat Catalog) Catalog { return wanCatalog{cat: cat} }

type wanCatalog struct{ cat Catalog }

// WANNode is n with its WAN address, a copy when it differs.
func WANNode(n *event.Node) *event.Node {
	if n == nil || n.TaggedAddresses[TaggedWAN] == "" || n.TaggedAddresses[TaggedWAN] == n.Address {
		return n
	}
	c := *n
	c.Address = n.TaggedAddresses[TaggedWAN]
	return &c
}

// WANService is s with its WAN address and port, a copy when they differ.
func WANService(s *event.Service) *event.Service {
	if s == nil {
		return s
	}
	wan, ok := s.TaggedAddresses[TaggedWAN]
	if !ok || (wan.Address == "" || wan.Address == s.Address) && (wan.Port == 0 || wan.Port == s.Port) {
		return s
	}
	c := *s
	if wan.Address != "" {
		c.Address = wan.Address
	}
	if wan.Port != 0 {
		c.Port = wan.Port
	}
	return &c
}

// wanInstances copies list with the WAN addresses; the catalog's slices
// and values are never written.
func wanInstances(list []Instance) []Instance {
	if len(list) == 0 {
		return list
	}
	out := make([]Instance, len(list))
	for i, in := range list {
		out[i] = Instance{Node: WANNode(in.Node), Service: WANService(in.Service), Checks: in.Checks}
	}
	return out
}

func (c wanCatalog) ServiceInstances(service string) []Instance {
	return wanInstances(c.cat.ServiceInstances(service))
}

func (c wanCatalog) Node(name string) (*event.Node, bool) {
	n, ok := c.cat.Node(name)
	return WANNode(n), ok
}

func (c wanCatalog) ConnectInstances(service string) []Instance {
	if cc, ok := c.cat.(ConnectCatalog); ok {
		return wanInstances(cc.ConnectInstances(service))
	}
	return nil
}

func (c wanCatalog) IngressInstances(service string) []Instance {
	if ic, ok := c.cat.(IngressCatalog); ok {
		return wanInstances(ic.IngressInstances(service))
	}
	return nil
}

func (c wanCatalog) ExecuteQuery(idOrName string) (*event.PreparedQuery, []preparedquery.Answer, error) {
	qc, ok := c.cat.(QueryCatalog)
	if !ok {
		return nil, nil, preparedquery.ErrNotFound
	}
	q, answers, err := qc.ExecuteQuery(idOrName)
	if err != nil {
		return q, answers, err
	}
	out := make([]preparedquery.Answer, len(answers))
	for i, a := range answers {
		out[i] = a
		out[i].Node, out[i].Service = WANNode(a.Node), WANService(a.Service)
	}
	return q, out, nil
}
