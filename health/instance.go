package health

import "github.com/heraldhq/herald/event"

// Instance is the health of one service instance as DNS and
// /v1/health/service?passing see it: Passing, Warning or Critical, from the
// checks that apply to it (its node's and its own). It is the one rule for
// both, so that they cannot disagree:
//
//   - Critical: some check is critical or is a maintenance check (by ID, or
//     by the maintenance status). DNS never answers the instance.
//   - Warning: some check is not passing — warning, or a status Herald does
//     not know (see the package comment). DNS answers it with its warning
//     weight unless only_passing is set; ?passing leaves it out.
//   - Passing: every check passes, or there are none.
//
// Checks of other services (ServiceID set to another ID) are ignored, in
// case a caller hands over the node's whole list; nil entries are skipped.
func Instance(serviceID string, checks []*event.Check) string {
	h := Passing
	for _, c := range checks {
		if c == nil || (c.ServiceID != "" && c.ServiceID != serviceID) {
			continue
		}
		if IsMaintCheck(c.CheckID) {
			return Critical
		}
		switch c.Status {
		case Passing:
		case Critical, Maint:
			return Critical
		default:
			h = Warning
		}
	}
	return h
}
