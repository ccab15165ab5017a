package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
)

// catalogStore is what catalog apply logic reads and writes: nodes, and the
// services and checks on each node. Names and IDs are matched without
// regard to case, as Consul's catalog does; records keep the case they were
// registered with.
type catalogStore interface {
	node(name string) (*event.Node, error)
	putNode(n *event.Node) error
	delNode(name string) error
	service(node, id string) (*event.Service, error)
	putService(s *event.Service) error
	delService(node, id string) error
	// services and checks list a node's records in ID order.
	services(node string, fn func(*event.Service) error) error
	check(node, id string) (*event.Check, error)
	putCheck(c *event.Check) error
	delCheck(node, id string) error
	checks(node string, fn func(*event.Check) error) error
}

// pebbleCatalog keeps catalog records as JSON in three areas of a batch.
// JSON is plenty here: catalog writes are rare next to reads, which the
// projection serves from memory.
type pebbleCatalog struct {
	batch                            *pebble.Batch
	nodeArea, serviceArea, checkArea byte
}

func newPebbleCatalog(b *pebble.Batch, base bool) *pebbleCatalog {
	c := &pebbleCatalog{batch: b, nodeArea: areaNodes, serviceArea: areaServices, checkArea: areaChecks}
	if base {
		c.nodeArea, c.serviceArea, c.checkArea = baseOf(areaNodes), baseOf(areaServices), baseOf(areaChecks)
	}
	return c
}

func nodeKey(area byte, node string) []byte { return areaKey(area, strings.ToLower(node)) }

func childKey(area byte, node, id string) []byte {
	return areaKey(area, strings.ToLower(node)+"\x00"+strings.ToLower(id))
}

func getJSON[T any](r pebble.Reader, key []byte) (*T, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	out := new(T)
	if err := json.Unmarshal(v, out); err != nil {
		return nil, fmt.Errorf("corrupt record %q: %w", key, err)
	}
	return out, nil
}

func putJSON(b *pebble.Batch, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Set(key, data, nil)
}

// scanJSON decodes every record whose key starts with prefix.
func scanJSON[T any](newIter func(*pebble.IterOptions) *pebble.Iterator, prefix []byte, fn func(*T) error) error {
	upper := prefixEnd(prefix)
	it := newIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		out := new(T)
		if err := json.Unmarshal(it.Value(), out); err != nil {
			return fmt.Errorf("corrupt catalog record %q: %w", it.Key(), err)
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return it.Error()
}

func (c *pebbleCatalog) node(name string) (*event.Node, error) {
	return getJSON[event.Node](c.batch, nodeKey(c.nodeArea, name))
}
func (c *pebbleCatalog) putNode(n *event.Node) error {
	return putJSON(c.batch, nodeKey(c.nodeArea, n.Node), n)
}
func (c *pebbleCatalog) delNode(name string) error {
	return c.batch.Delete(nodeKey(c.nodeArea, name), nil)
}
func (c *pebbleCatalog) service(node, id string) (*event.Service, error) {
	return getJSON[event.Service](c.batch, childKey(c.serviceArea, node, id))
}
func (c *pebbleCatalog) putService(s *event.Service) error {
	return putJSON(c.batch, childKey(c.serviceArea, s.Node, s.ID), s)
}
func (c *pebbleCatalog) delService(node, id string) error {
	return c.batch.Delete(childKey(c.serviceArea, node, id), nil)
}
func (c *pebbleCatalog) services(node string, fn func(*event.Service) error) error {
	return scanJSON(c.batch.NewIter, childKey(c.serviceArea, node, ""), fn)
}
func (c *pebbleCatalog) check(node, id string) (*event.Check, error) {
	return getJSON[event.Check](c.batch, childKey(c.checkArea, node, id))
}
func (c *pebbleCatalog) putCheck(ch *event.Check) error {
	return putJSON(c.batch, childKey(c.checkArea, ch.Node, ch.CheckID), ch)
}
func (c *pebbleCatalog) delCheck(node, id string) error {
	return c.batch.Delete(childKey(c.checkArea, node, id), nil)
}
func (c *pebbleCatalog) checks(node string, fn func(*event.Check) error) error {
	return scanJSON(c.batch.NewIter, childKey(c.checkArea, node, ""), fn)
}
