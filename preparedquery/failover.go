package preparedquery

import (
	"slices"

	"github.com/heraldhq/herald/event"
)

// FailoverTargets are the datacenters a query that found nothing in local
// fails over to, in the order they are tried, as Consul tries them: the
// Failover.NearestN first of known (the known datacenters, nearest
// first), then those of Failover.Datacenters that are known, each once and
// never local.
func FailoverTargets(q *event.PreparedQuery, local string, known []string) []string {
	f := q.Service.Failover
	var targets []string
	isKnown := map[string]bool{}
	for _, dc := range known {
		isKnown[dc] = true
	}
	seen := map[string]bool{local: true}
	for _, dc := range known {
		if len(targets) >= f.NearestN {
			break
		}
		if !seen[dc] {
			seen[dc] = true
			targets = append(targets, dc)
		}
	}
	listed := slices.Clone(f.Datacenters)
	// Failover.Targets (never with the two above): their datacenters;
	// cluster peers do not exist in Herald.
	for _, t := range f.Targets {
		if t.Datacenter != "" {
			listed = append(listed, t.Datacenter)
		}
	}
	for _, dc := range listed {
		if !seen[dc] && isKnown[dc] {
			seen[dc] = true
			targets = append(targets, dc)
		}
	}
	return targets
}

// HasFailover reports whether q names datacenters to fail over to.
func HasFailover(q *event.PreparedQuery) bool {
	f := q.Service.Failover
	return f.NearestN > 0 || len(f.Datacenters) > 0 || slices.ContainsFunc(f.Targets, func(t event.QueryFailoverTarget) bool {
		return t.Datacenter != ""
	})
}
