package projections

import (
	"sort"

	"github.com/heraldhq/herald/event"
)

// Prepared queries are part of the catalog shard's read model: a table by
// lower-case ID, whose index is the last change to any query (Consul's
// prepared-queries table index) and whose waiters are woken by any change.

const queriesTable = "queries"

// loadQueries reads every query of src into c, which nobody else sees yet.
func (c *Catalog) loadQueries(src event.Source) error {
	c.queries = map[string]*event.PreparedQuery{}
	return src.ScanQueries(func(q *event.PreparedQuery) error {
		c.queries[lower(q.ID)] = q
		return nil
	})
}

// applyQuery folds a query event in; callers hold c.mu.
func (c *Catalog) applyQuery(index uint64, ev event.Event) {
	switch ev.Type {
	case event.QueryUpdated:
		c.queries[lower(ev.Query.ID)] = ev.Query
	case event.QueryDeleted:
		delete(c.queries, lower(ev.Query.ID))
	default:
		return
	}
	c.queriesIndex = index
	c.tableWatch.fire(queriesTable)
}

// Queries returns every prepared query, ordered by ID.
func (c *Catalog) Queries(watch bool) ([]*event.PreparedQuery, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	out := make([]*event.PreparedQuery, 0, len(c.queries))
	for _, q := range c.queries {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nonZero(c.queriesIndex), watchOf(c.tableWatch, queriesTable, watch)
}

// Query returns the prepared query with the ID (nil if none), matched
// without regard to case.
func (c *Catalog) Query(id string, watch bool) (*event.PreparedQuery, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	return c.queries[lower(id)], nonZero(c.queriesIndex), watchOf(c.tableWatch, queriesTable, watch)
}
