package statemachine

import (
	"errors"
	"slices"
	"strings"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// applyCatalogTxn applies Consul's Node, Service and Check transaction ops
// all or none, with the catalog's own rules (applyRegister, applyDeregister)
// run against an overlay: like Consul, it runs every op even after one
// failed, so the client learns every reason at once, and writes nothing
// unless all succeeded.
func applyCatalogTxn(st catalogStore, idx uint64, ops []command.CatalogOp, emit func(event.Event)) (command.Result, error) {
	tx := newOverlayCatalog(st)
	out := &command.KVTxnResult{}
	var events []event.Event
	collect := func(ev event.Event) { events = append(events, ev) }
	for i := range ops {
		res, err := applyCatalogOp(tx, idx, &ops[i], collect)
		var refused *refusedError
		if errors.As(err, &refused) {
			out.Errors = append(out.Errors, command.KVTxnError{OpIndex: i, What: refused.what})
			continue
		}
		if err != nil {
			return command.Result{}, err
		}
		if res != nil {
			out.Catalog = append(out.Catalog, *res)
		}
	}
	if len(out.Errors) > 0 {
		out.Catalog = nil
		return command.Result{Txn: out}, nil
	}
	if err := tx.flush(); err != nil {
		return command.Result{}, err
	}
	for _, ev := range events {
		emit(ev)
	}
	return command.Result{Succeeded: true, Txn: out}, nil
}

// applyCatalogOp applies one op, with Consul's messages for its refusals.
func applyCatalogOp(st catalogStore, idx uint64, op *command.CatalogOp, emit func(event.Event)) (*command.CatalogTxnResult, error) {
	switch op.Kind {
	case command.CatalogOpNode:
		return applyNodeOp(st, idx, op, emit)
	case command.CatalogOpService:
		return applyServiceOp(st, idx, op, emit)
	case command.CatalogOpCheck:
		return applyCheckOp(st, idx, op, emit)
	}
	return nil, failed("no operation specified")
}

// casStale reports whether a cas with index must fail, given the record's
// current ModifyIndex (exists false when there is none): index 0 sets only
// an absent record, any other only the record at that index.
func casStale(index uint64, exists bool, current uint64) bool {
	if index == 0 {
		return exists
	}
	return !exists || current != index
}

func applyNodeOp(st catalogStore, idx uint64, op *command.CatalogOp, emit func(event.Event)) (*command.CatalogTxnResult, error) {
	name := op.Node.Node
	existing, err := st.node(name)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if existing == nil {
			return nil, failed("node %q doesn't exist", name)
		}
		return &command.CatalogTxnResult{Node: existing}, nil
	case "cas":
		if casStale(op.Index, existing != nil, modifyIndexOf(existing)) {
			return nil, failed("failed to set node %q, index is stale", name)
		}
		fallthrough
	case "set":
		n := op.Node
		n.CreateIndex, n.ModifyIndex = 0, 0
		if err := applyRegister(st, idx, &command.CatalogRegisterBody{Node: n, SkipNodeUpdate: n.Address == ""}, emit); err != nil {
			return nil, err
		}
		n2, err := st.node(name)
		return &command.CatalogTxnResult{Node: n2}, err
	case "delete-cas":
		if existing == nil || existing.ModifyIndex != op.Index {
			return nil, failed("failed to delete node %q, index is stale", name)
		}
		fallthrough
	case "delete":
		return nil, applyDeregister(st, idx, &command.CatalogDeregisterBody{Node: name}, emit)
	}
	return nil, failed("unknown Node verb %q", op.Verb)
}

func modifyIndexOf(n *event.Node) uint64 {
	if n == nil {
		return 0
	}
	return n.ModifyIndex
}

func applyServiceOp(st catalogStore, idx uint64, op *command.CatalogOp, emit func(event.Event)) (*command.CatalogTxnResult, error) {
	if op.Service == nil {
		return nil, failed("no operation specified")
	}
	nodeName, id := op.Node.Node, serviceID(op.Service)
	existing, err := st.service(nodeName, id)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if existing == nil {
			return nil, failed("service %q on node %q doesn't exist", id, nodeName)
		}
		return &command.CatalogTxnResult{Service: existing}, nil
	case "cas":
		if casStale(op.Index, existing != nil, serviceModifyIndex(existing)) {
			return nil, failed("failed to set service %q on node %q, index is stale", id, nodeName)
		}
		fallthrough
	case "set":
		n, err := st.node(nodeName)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, failed("Missing node registration")
		}
		s := *op.Service
		s.CreateIndex, s.ModifyIndex = 0, 0
		if err := applyRegister(st, idx, &command.CatalogRegisterBody{Node: *n, SkipNodeUpdate: true, Service: &s}, emit); err != nil {
			return nil, err
		}
		s2, err := st.service(n.Node, id)
		return &command.CatalogTxnResult{Service: s2}, err
	case "delete-cas":
		if existing == nil || existing.ModifyIndex != op.Index {
			return nil, failed("failed to delete service %q on node %q, index is stale", id, nodeName)
		}
		fallthrough
	case "delete":
		return nil, applyDeregister(st, idx, &command.CatalogDeregisterBody{Node: nodeName, ServiceID: id}, emit)
	}
	return nil, failed("unknown Service verb %q", op.Verb)
}

func serviceModifyIndex(s *event.Service) uint64 {
	if s == nil {
		return 0
	}
	return s.ModifyIndex
}

func applyCheckOp(st catalogStore, idx uint64, op *command.CatalogOp, emit func(event.Event)) (*command.CatalogTxnResult, error) {
	if op.Check == nil {
		return nil, failed("no operation specified")
	}
	nodeName, id := op.Check.Node, op.Check.CheckID
	existing, err := st.check(nodeName, id)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if existing == nil {
			return nil, failed("check %q on node %q doesn't exist", id, nodeName)
		}
		return &command.CatalogTxnResult{Check: existing}, nil
	case "cas":
		var current uint64
		if existing != nil {
			current = existing.ModifyIndex
		}
		if casStale(op.Index, existing != nil, current) {
			return nil, failed("failed to set check %q on node %q, index is stale", id, nodeName)
		}
		fallthrough
	case "set":
		n, err := st.node(nodeName)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, failed("Missing node registration")
		}
		c := *op.Check
		c.CreateIndex, c.ModifyIndex = 0, 0
		if err := applyRegister(st, idx, &command.CatalogRegisterBody{Node: *n, SkipNodeUpdate: true, Checks: []event.Check{c}}, emit); err != nil {
			return nil, err
		}
		c2, err := st.check(n.Node, id)
		return &command.CatalogTxnResult{Check: c2}, err
	case "delete-cas":
		if existing == nil || existing.ModifyIndex != op.Index {
			return nil, failed("failed to delete check %q on node %q, index is stale", id, nodeName)
		}
		fallthrough
	case "delete":
		return nil, applyDeregister(st, idx, &command.CatalogDeregisterBody{Node: nodeName, CheckID: id}, emit)
	}
	return nil, failed("unknown Check verb %q", op.Verb)
}

// overlayCatalog is a catalogStore that keeps writes in memory over another
// until flush, so that a transaction whose ops fail leaves nothing behind.
// Keys are lower-cased as the Pebble store's are.
type overlayCatalog struct {
	under                         catalogStore
	nodes                         map[string]*event.Node // nil value: deleted
	svcs                          map[string]*event.Service
	chks                          map[string]*event.Check
	nodeOrder, svcOrder, chkOrder []string // first-write order, for a deterministic flush
}

func newOverlayCatalog(under catalogStore) *overlayCatalog {
	return &overlayCatalog{under: under, nodes: map[string]*event.Node{},
		svcs: map[string]*event.Service{}, chks: map[string]*event.Check{}}
}

func childID(node, id string) string { return strings.ToLower(node) + "\x00" + strings.ToLower(id) }

func note[T any](m map[string]*T, order *[]string, key string, v *T) {
	if _, ok := m[key]; !ok {
		*order = append(*order, key)
	}
	m[key] = v
}

func (o *overlayCatalog) node(name string) (*event.Node, error) {
	if n, ok := o.nodes[strings.ToLower(name)]; ok {
		return n, nil
	}
	return o.under.node(name)
}
func (o *overlayCatalog) putNode(n *event.Node) error {
	c := *n
	note(o.nodes, &o.nodeOrder, strings.ToLower(n.Node), &c)
	return nil
}
func (o *overlayCatalog) delNode(name string) error {
	note(o.nodes, &o.nodeOrder, strings.ToLower(name), nil)
	return nil
}
func (o *overlayCatalog) service(node, id string) (*event.Service, error) {
	if s, ok := o.svcs[childID(node, id)]; ok {
		return s, nil
	}
	return o.under.service(node, id)
}
func (o *overlayCatalog) putService(s *event.Service) error {
	c := *s
	note(o.svcs, &o.svcOrder, childID(s.Node, s.ID), &c)
	return nil
}
func (o *overlayCatalog) delService(node, id string) error {
	note(o.svcs, &o.svcOrder, childID(node, id), nil)
	return nil
}
func (o *overlayCatalog) services(node string, fn func(*event.Service) error) error {
	return mergedChildren(node, o.svcs, o.under.services, func(s *event.Service) string { return childID(s.Node, s.ID) }, fn)
}
func (o *overlayCatalog) check(node, id string) (*event.Check, error) {
	if c, ok := o.chks[childID(node, id)]; ok {
		return c, nil
	}
	return o.under.check(node, id)
}
func (o *overlayCatalog) putCheck(c *event.Check) error {
	cp := *c
	note(o.chks, &o.chkOrder, childID(c.Node, c.CheckID), &cp)
	return nil
}
func (o *overlayCatalog) delCheck(node, id string) error {
	note(o.chks, &o.chkOrder, childID(node, id), nil)
	return nil
}
func (o *overlayCatalog) checks(node string, fn func(*event.Check) error) error {
	return mergedChildren(node, o.chks, o.under.checks, func(c *event.Check) string { return childID(c.Node, c.CheckID) }, fn)
}

// mergedChildren lists a node's records as the overlay sees them, in key
// order as the store lists them.
func mergedChildren[T any](node string, pending map[string]*T, under func(string, func(*T) error) error, key func(*T) string, fn func(*T) error) error {
	merged := map[string]*T{}
	if err := under(node, func(v *T) error { merged[key(v)] = v; return nil }); err != nil {
		return err
	}
	prefix := strings.ToLower(node) + "\x00"
	for k, v := range pending {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn(merged[k]); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the pending changes to the store under the overlay.
func (o *overlayCatalog) flush() error {
	for _, k := range o.nodeOrder {
		var err error
		if n := o.nodes[k]; n != nil {
			err = o.under.putNode(n)
		} else {
			err = o.under.delNode(k)
		}
		if err != nil {
			return err
		}
	}
	for _, k := range o.svcOrder {
		var err error
		if s := o.svcs[k]; s != nil {
			err = o.under.putService(s)
		} else {
			node, id, _ := strings.Cut(k, "\x00")
			err = o.under.delService(node, id)
		}
		if err != nil {
			return err
		}
	}
	for _, k := range o.chkOrder {
		var err error
		if c := o.chks[k]; c != nil {
			err = o.under.putCheck(c)
		} else {
			node, id, _ := strings.Cut(k, "\x00")
			err = o.under.delCheck(node, id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
