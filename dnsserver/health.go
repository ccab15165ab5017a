package dnsserver

import (
	"math"
	"strings"

	"github.com/heraldhq/herald/event"
)

// health is an instance's aggregate state, worst check wins.
type health uint8

const (
	healthPassing health = iota
	healthWarning
	healthCritical
)

// Check IDs of Consul's maintenance mode. They are registered critical, but
// they are recognised by ID as well so that a maintenance check never lets
// an instance through, whatever status a writer gave it.
const (
	nodeMaintCheckID       = "_node_maintenance"
	serviceMaintCheckIDPre = "_service_maintenance:"
)

// instanceHealth aggregates the checks that apply to the instance. Checks
// of other services on the same node are ignored, in case a catalog hands
// out the node's whole list.
func instanceHealth(in Instance) health {
	h := healthPassing
	for _, c := range in.Checks {
		if c == nil || (c.ServiceID != "" && c.ServiceID != in.Service.ID) {
			continue
		}
		if c.CheckID == nodeMaintCheckID || strings.HasPrefix(c.CheckID, serviceMaintCheckIDPre) {
			return healthCritical
		}
		switch c.Status {
		case event.HealthPassing:
		case event.HealthCritical, event.HealthMaint:
			return healthCritical
		default:
			// Warning, and any status Herald does not know: Consul's
			// only_passing drops everything that is not passing.
			h = healthWarning
		}
	}
	return h
}

// weight is the SRV weight for an instance in the given state. A service
// registered without weights has the zero value here, which Consul would
// have filled in as {Passing: 1, Warning: 1}.
func weight(svc *event.Service, h health) uint16 {
	w := svc.Weights
	if w.Passing <= 0 && w.Warning <= 0 {
		return 1
	}
	v := w.Passing
	if h == healthWarning {
		v = w.Warning
	}
	return uint16(min(max(v, 0), math.MaxUint16))
}
