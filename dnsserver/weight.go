package dnsserver

import (
	"math"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
)

// weight is the SRV weight for an instance in the given state (one of
// health.Instance's). A service registered without weights has the zero
// value here, which Consul would have filled in as {Passing: 1, Warning: 1}.
func weight(svc *event.Service, h string) uint16 {
	w := svc.Weights
	if w.Passing <= 0 && w.Warning <= 0 {
		return 1
	}
	v := w.Passing
	if h == health.Warning {
		v = w.Warning
	}
	return uint16(min(max(v, 0), math.MaxUint16))
}
