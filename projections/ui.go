package projections

import (
	"sort"

	"github.com/heraldhq/herald/event"
)

// Wake-ups for the readers that show a whole table at once and must hear
// of any change to it (the web UI's services and nodes summaries, whose
// health counts change with every check).

// anyChange is the tableWatch name fired by every change to the catalog.
const anyChange = "any"

// Changes returns the catalog's index (the last change to nodes, services
// or checks) and, when watch is set, a channel closed at the next change
// of any of them.
func (c *Catalog) Changes(watch bool) (uint64, <-chan struct{}) {
	defer c.lock(watch)()
	return nonZero(max(c.nodesIndex, c.servicesIndex, c.checksIndex)), watchOf(c.tableWatch, anyChange, watch)
}

// PrefixChanges returns the index of the keys under prefix (as List
// answers it) and, when watch is set, a channel closed when anything under
// it changes, without listing the keys.
func (kv *KV) PrefixChanges(prefix string, watch bool) (uint64, <-chan struct{}) {
	defer kv.lock(watch)()
	var index uint64
	if prefix != "" {
		kv.ascendPrefix(prefix, func(e *event.KVEntry) { index = max(index, e.ModifyIndex) })
	}
	return kv.prefixIndex(prefix, index), kv.watchPrefix(prefix, watch)
}

// Locks returns the keys held by the sessions in held, in key order.
func (kv *KV) Locks(held map[string]bool) map[string][]string {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	out := map[string][]string{}
	if len(held) == 0 {
		return out
	}
	kv.entries.Ascend(func(e *event.KVEntry) bool {
		if e.Session != "" && held[e.Session] {
			out[e.Session] = append(out[e.Session], e.Key)
		}
		return true
	})
	return out
}

// ServiceNames returns the name of every service (as its instances spell
// it), sorted.
func (c *Catalog) ServiceNames() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.byName))
	for _, instances := range c.byName {
		for _, s := range instances {
			out = append(out, s.Service)
			break
		}
	}
	sort.Strings(out)
	return out
}
