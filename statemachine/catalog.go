package statemachine

import (
	"reflect"
	"slices"
	"strings"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Catalog rules, after Consul's: registering what is already registered
// changes nothing (no index moves, no event), a check on a service needs the
// service on the same node, and removing a node or a service removes what
// hangs off it. Every refusal is decided before anything is written, so a
// command applies completely or not at all.

func applyRegister(st catalogStore, idx uint64, b *command.CatalogRegisterBody, emit func(event.Event)) error {
	if b.Node.Node == "" {
		return failed("Must provide node")
	}
	if b.Node.Address == "" && !b.SkipNodeUpdate {
		return failed("Must provide address if SkipNodeUpdate is not set")
	}
	existing, err := st.node(b.Node.Node)
	if err != nil {
		return err
	}
	for _, c := range b.Checks {
		if c.CheckID == "" {
			return failed("Must provide check ID")
		}
		if c.ServiceID == "" || (b.Service != nil && strings.EqualFold(serviceID(b.Service), c.ServiceID)) {
			continue
		}
		svc, err := st.service(b.Node.Node, c.ServiceID)
		if err != nil {
			return err
		}
		if svc == nil {
			return failed("Missing service registration for check %q", c.CheckID)
		}
	}

	nodeName := b.Node.Node
	switch {
	case existing == nil: // SkipNodeUpdate or not, as in Consul: the node is created as given
		n := b.Node
		n.CreateIndex, n.ModifyIndex = idx, idx
		if err := st.putNode(&n); err != nil {
			return err
		}
		emit(event.Event{Type: event.NodeUpdated, Shard: event.ShardCatalog, Index: idx, Key: n.Node, Node: &n})
	case b.SkipNodeUpdate:
		nodeName = existing.Node
	default:
		n := b.Node
		if n.ID == "" {
			n.ID = existing.ID
		}
		n.CreateIndex, n.ModifyIndex = existing.CreateIndex, existing.ModifyIndex
		if !reflect.DeepEqual(&n, existing) {
			n.ModifyIndex = idx
			if err := st.putNode(&n); err != nil {
				return err
			}
			emit(event.Event{Type: event.NodeUpdated, Shard: event.ShardCatalog, Index: idx, Key: n.Node, Node: &n})
		}
	}

	if b.Service != nil {
		s := *b.Service
		s.Node, s.ID = nodeName, serviceID(&s)
		if s.Weights == (event.Weights{}) {
			s.Weights = event.Weights{Passing: 1, Warning: 1}
		}
		old, err := st.service(nodeName, s.ID)
		if err != nil {
			return err
		}
		s.CreateIndex, s.ModifyIndex = idx, idx
		if old != nil {
			s.CreateIndex, s.ModifyIndex = old.CreateIndex, old.ModifyIndex
		}
		if old == nil || !reflect.DeepEqual(&s, old) {
			s.ModifyIndex = idx
			if err := st.putService(&s); err != nil {
				return err
			}
			emit(event.Event{Type: event.ServiceUpdated, Shard: event.ShardCatalog, Index: idx, Key: s.Service, Service: &s})
		}
	}

	for _, c := range b.Checks {
		c.Node = nodeName
		if c.Status == "" {
			c.Status = event.HealthCritical
		}
		if c.ServiceID != "" {
			svc, err := st.service(nodeName, c.ServiceID)
			if err != nil {
				return err
			}
			c.ServiceID, c.ServiceName, c.ServiceTags = svc.ID, svc.Service, svc.Tags
		} else {
			c.ServiceName, c.ServiceTags = "", nil
		}
		if err := putCheck(st, idx, &c, emit); err != nil {
			return err
		}
	}
	return nil
}

func serviceID(s *event.Service) string {
	if s.ID != "" {
		return s.ID
	}
	return s.Service
}

// putCheck writes a check unless it is unchanged, keeping its CreateIndex.
func putCheck(st catalogStore, idx uint64, c *event.Check, emit func(event.Event)) error {
	old, err := st.check(c.Node, c.CheckID)
	if err != nil {
		return err
	}
	c.CreateIndex, c.ModifyIndex = idx, idx
	if old != nil {
		c.CreateIndex, c.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if reflect.DeepEqual(c, old) {
			return nil
		}
		c.ModifyIndex = idx
	}
	if err := st.putCheck(c); err != nil {
		return err
	}
	emit(event.Event{Type: event.CheckUpdated, Shard: event.ShardCatalog, Index: idx, Key: c.CheckID, Check: c})
	return nil
}

func applyDeregister(st catalogStore, idx uint64, b *command.CatalogDeregisterBody, emit func(event.Event)) error {
	if b.Node == "" {
		return failed("Must provide node")
	}
	delCheck := func(c *event.Check) error {
		if err := st.delCheck(c.Node, c.CheckID); err != nil {
			return err
		}
		emit(event.Event{Type: event.CheckDeleted, Shard: event.ShardCatalog, Index: idx, Key: c.CheckID, Check: c})
		return nil
	}
	delService := func(s *event.Service) error {
		var owned []*event.Check
		if err := st.checks(s.Node, func(c *event.Check) error {
			if strings.EqualFold(c.ServiceID, s.ID) {
				owned = append(owned, c)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, c := range owned {
			if err := delCheck(c); err != nil {
				return err
			}
		}
		if err := st.delService(s.Node, s.ID); err != nil {
			return err
		}
		emit(event.Event{Type: event.ServiceDeleted, Shard: event.ShardCatalog, Index: idx, Key: s.Service, Service: s})
		return nil
	}

	switch {
	case b.CheckID != "":
		c, err := st.check(b.Node, b.CheckID)
		if err != nil || c == nil {
			return err
		}
		return delCheck(c)
	case b.ServiceID != "":
		s, err := st.service(b.Node, b.ServiceID)
		if err != nil || s == nil {
			return err
		}
		return delService(s)
	}
	n, err := st.node(b.Node)
	if err != nil || n == nil {
		return err
	}
	var services []*event.Service
	var checks []*event.Check
	if err := st.services(n.Node, func(s *event.Service) error { services = append(services, s); return nil }); err != nil {
		return err
	}
	for _, s := range services {
		if err := delService(s); err != nil {
			return err
		}
	}
	if err := st.checks(n.Node, func(c *event.Check) error { checks = append(checks, c); return nil }); err != nil {
		return err
	}
	for _, c := range checks {
		if err := delCheck(c); err != nil {
			return err
		}
	}
	if err := st.delNode(n.Node); err != nil {
		return err
	}
	emit(event.Event{Type: event.NodeDeleted, Shard: event.ShardCatalog, Index: idx, Key: n.Node, Node: n})
	return nil
}

var validStatus = []string{event.HealthPassing, event.HealthWarning, event.HealthCritical}

func applyCheckStatus(st catalogStore, idx uint64, b *command.CheckStatusBody, emit func(event.Event)) error {
	if !slices.Contains(validStatus, b.Status) {
		return failed("Invalid check status %q", b.Status)
	}
	c, err := st.check(b.Node, b.CheckID)
	if err != nil {
		return err
	}
	if c == nil {
		return failed("Unknown check %q on node %q", b.CheckID, b.Node)
	}
	if c.Status == b.Status && c.Output == b.Output {
		return nil
	}
	c.Status, c.Output, c.ModifyIndex = b.Status, b.Output, idx
	if err := st.putCheck(c); err != nil {
		return err
	}
	emit(event.Event{Type: event.CheckUpdated, Shard: event.ShardCatalog, Index: idx, Key: c.CheckID, Check: c})
	return nil
}
