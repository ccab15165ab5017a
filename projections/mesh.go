package projections

import (
	"iter"
	"slices"
	"sort"

	"github.com/heraldhq/herald/event"
)

// The service mesh's reads of the catalog: the instances that accept mesh
// connections for a service (its proxies and its Connect-native
// instances), as /v1/health/connect and /v1/catalog/connect answer them.

// connectKey is the watch key, in serviceWatch, of a service's mesh
// instances; no service name holds a NUL.
func connectKey(name string) string { return "\x00connect\x00" + lower(name) }

// proxyDest is the lower-case service a connect-proxy instance fronts, ""
// for any other instance.
func proxyDest(s *event.Service) string {
	if s.Kind != event.KindConnectProxy || s.Proxy == nil {
		return ""
	}
	return lower(s.Proxy.DestinationServiceName)
}

func (c *Catalog) putProxy(s *event.Service) {
	if d := proxyDest(s); d != "" {
		if c.byDest[d] == nil {
			c.byDest[d] = map[string]*event.Service{}
		}
		c.byDest[d][instanceKey(s)] = s
		name := lower(s.Service)
		if c.destsOf[name] == nil {
			c.destsOf[name] = map[string]int{}
		}
		c.destsOf[name][d]++
	}
}

func (c *Catalog) dropProxy(s *event.Service) {
	if d := proxyDest(s); d != "" {
		delete(c.byDest[d], instanceKey(s))
		if len(c.byDest[d]) == 0 {
			delete(c.byDest, d)
		}
		name := lower(s.Service)
		if c.destsOf[name][d]--; c.destsOf[name][d] <= 0 {
			delete(c.destsOf[name], d)
			if len(c.destsOf[name]) == 0 {
				delete(c.destsOf, name)
			}
		}
	}
}

// touchConnect records a change to the mesh instances of the service
// name: one of its native instances, or one of its proxies, or their
// health. Callers hold c.mu.
func (c *Catalog) touchConnect(index uint64, name string) {
	if name == "" {
		return
	}
	c.connectIndex[lower(name)] = index
	c.serviceWatch.fire(connectKey(name))
}

// touchConnectOf records a change to the instances of the service name
// for the mesh reads that include them: the service's own, and those of
// the services its proxies front. Those come from destsOf, not from the
// name's instances: a change to one of a thousand instances would
// otherwise visit all thousand.
func (c *Catalog) touchConnectOf(index uint64, name string) {
	c.touchConnect(index, name)
	for dest := range c.destsOf[lower(name)] {
		c.touchConnect(index, dest)
	}
}

// ConnectInstances returns the proxies of a service and its Connect-native
// instances, each with its node and checks, ordered by node and ID.
func (c *Catalog) ConnectInstances(name string, watch bool) ([]Instance, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	name = lower(name)
	index, ok := c.connectIndex[name]
	if !ok {
		index = max(c.servicesIndex, c.nodesIndex)
	}
	var list []*event.Service
	for _, s := range c.byName[name] {
		if s.Connect != nil && s.Connect.Native {
			list = append(list, s)
		}
	}
	for _, s := range c.byDest[name] {
		list = append(list, s)
	}
	out := c.instancesOf(slices.Values(list), len(list))
	return out, nonZero(index), watchOf(c.serviceWatch, connectKey(name), watch)
}

// instancesOf joins services with their nodes and checks; callers hold
// c.mu.
func (c *Catalog) instancesOf(services iter.Seq[*event.Service], n int) []Instance {
	out := make([]Instance, 0, n)
	for s := range services {
		node := c.nodes[lower(s.Node)]
		if node == nil {
			continue
		}
		out = append(out, c.instance(node, s))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node.Node != out[j].Node.Node {
			return out[i].Node.Node < out[j].Node.Node
		}
		return out[i].Service.ID < out[j].Service.ID
	})
	return out
}
