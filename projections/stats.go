package projections

// CatalogSize is how much the catalog holds, for the agent's gauges.
type CatalogSize struct {
	Nodes, ServiceInstances, Services, Checks int
	// Watched is how many names blocking queries wait on (waiters of one
	// name share a channel, so it counts names, not waiters).
	Watched int
}

// Size counts the catalog's contents; it walks the nodes, so it is for
// periodic sampling, not for every request.
func (c *Catalog) Size() CatalogSize {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := CatalogSize{Nodes: len(c.nodes), Services: len(c.byName),
		Watched: len(c.serviceWatch) + len(c.nodeWatch) + len(c.tableWatch)}
	for _, svcs := range c.services {
		s.ServiceInstances += len(svcs)
	}
	for _, checks := range c.checks {
		s.Checks += len(checks)
	}
	return s
}

// KVSize is how much the kv shard's projection holds.
type KVSize struct {
	Keys, Sessions int
	// Watched is how many keys, prefixes and session lists blocking
	// queries wait on.
	Watched int
}

// Size counts the tree's entries and sessions.
func (kv *KV) Size() KVSize {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return KVSize{Keys: kv.entries.Len(), Sessions: len(kv.sessions),
		Watched: len(kv.keyWatch) + len(kv.treeWatch) + len(kv.sessionWatch)}
}
