package agent

import (
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/projections"
)

// aliasSource answers alias checks from the catalog projection: the worst
// status of a node's checks, or of one service instance's (with its node's).
// An alias without a node is about the agent's own node (self), as in
// Consul: a sidecar's alias of its parent names the service only.
type aliasSource struct {
	catalog *projections.Catalog
	self    string
}

func (s aliasSource) Health(node, serviceID string) (string, <-chan struct{}) {
	if node == "" {
		node = s.self
	}
	info, _, changed := s.catalog.Node(node, true)
	if info == nil {
		return event.HealthCritical, changed
	}
	if serviceID == "" {
		return health.Aggregate(info.Checks), changed
	}
	found := false
	var relevant []*event.Check
	for _, sv := range info.Services {
		found = found || sv.ID == serviceID
	}
	if !found {
		return event.HealthCritical, changed
	}
	for _, c := range info.Checks {
		if c.ServiceID == "" || c.ServiceID == serviceID {
			relevant = append(relevant, c)
		}
	}
	return health.Aggregate(relevant), changed
}
