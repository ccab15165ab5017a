package statemachine

import (
	"strings"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/preparedquery"
)

// Prepared query rules, after Consul's state store: a create needs an ID
// nobody has, an update or delete a query that exists; names are unique
// without regard to case, at most one template has the empty name, a name
// may not be another query's ID, and a template must compile. What Consul
// checks before its Raft apply (package preparedquery's Validate) the
// proposer has checked; a session binding is checked by the proposer too,
// since sessions live in the other shard.

func applyQuerySet(st queryStore, idx uint64, b *command.QuerySetBody, emit func(event.Event)) error {
	q := b.Query
	if q.ID == "" {
		return failed("Missing Query ID")
	}
	existing, err := st.query(q.ID)
	if err != nil {
		return err
	}
	switch {
	case b.Create && existing != nil:
		return failed("prepared query '%s' already exists", q.ID)
	case !b.Create && existing == nil:
		return failed("Cannot modify non-existent prepared query: '%s'", q.ID)
	}
	var conflict error
	err = st.queries(func(other *event.PreparedQuery) error {
		switch {
		case strings.EqualFold(other.ID, q.ID):
		case q.Name != "" && strings.EqualFold(other.Name, q.Name):
			conflict = failed("name '%s' aliases an existing query name", q.Name)
		case q.Name == "" && preparedquery.IsTemplate(&q) && other.Name == "" && preparedquery.IsTemplate(other):
			conflict = failed("a query template with an empty name already exists")
		case preparedquery.IsUUID(q.Name) && strings.EqualFold(other.ID, q.Name):
			conflict = failed("name '%s' aliases an existing query ID", q.Name)
		}
		return conflict
	})
	if conflict != nil {
		return conflict
	}
	if err != nil {
		return err
	}
	if preparedquery.IsTemplate(&q) {
		if _, err := preparedquery.Compile(&q); err != nil {
			return failed("failed compiling template: %s", err)
		}
	}
	q.CreateIndex, q.ModifyIndex = idx, idx
	if existing != nil {
		q.ID, q.CreateIndex = existing.ID, existing.CreateIndex
	}
	if err := st.putQuery(&q); err != nil {
		return err
	}
	emit(event.Event{Type: event.QueryUpdated, Shard: event.ShardCatalog, Index: idx, Key: q.ID, Query: &q})
	return nil
}

func applyQueryDelete(st queryStore, idx uint64, b *command.QueryDeleteBody, emit func(event.Event)) error {
	q, err := st.query(b.ID)
	if err != nil {
		return err
	}
	if q == nil {
		return failed("Cannot modify non-existent prepared query: '%s'", b.ID)
	}
	if err := st.delQuery(q.ID); err != nil {
		return err
	}
	emit(event.Event{Type: event.QueryDeleted, Shard: event.ShardCatalog, Index: idx, Key: q.ID, Query: q})
	return nil
}

// queryStore is what prepared query rules read and write. IDs match
// without regard to case, as Consul's UUID index does.
type queryStore interface {
	query(id string) (*event.PreparedQuery, error)
	putQuery(q *event.PreparedQuery) error
	delQuery(id string) error
	// queries lists every query in ID order, and stops at fn's first error.
	queries(fn func(*event.PreparedQuery) error) error
}

type pebbleQueries struct {
	batch *pebble.Batch
	area  byte
}

func newPebbleQueries(b *pebble.Batch, base bool) *pebbleQueries {
	q := &pebbleQueries{batch: b, area: areaQueries}
	if base {
		q.area = baseOf(areaQueries)
	}
	return q
}

func queryKey(area byte, id string) []byte { return areaKey(area, strings.ToLower(id)) }

func (p *pebbleQueries) query(id string) (*event.PreparedQuery, error) {
	return getJSON[event.PreparedQuery](p.batch, queryKey(p.area, id))
}
func (p *pebbleQueries) putQuery(q *event.PreparedQuery) error {
	return putJSON(p.batch, queryKey(p.area, q.ID), q)
}
func (p *pebbleQueries) delQuery(id string) error {
	return p.batch.Delete(queryKey(p.area, id), nil)
}
func (p *pebbleQueries) queries(fn func(*event.PreparedQuery) error) error {
	return scanJSON(p.batch.NewIter, []byte{p.area}, fn)
}

func (d dbSource) ScanQueries(fn func(*event.PreparedQuery) error) error {
	return scanJSON(d.r.NewIter, []byte{areaQueries}, fn)
}

func (m *memSource) ScanQueries(fn func(*event.PreparedQuery) error) error {
	for _, q := range m.queries {
		if err := fn(q); err != nil {
			return err
		}
	}
	return nil
}
