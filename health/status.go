package health

import "github.com/heraldhq/herald/event"

// The statuses of a check, as Consul spells them. They are defined once,
// with the records that carry them, in package event; these are the same
// constants under the names the health rules use.
const (
	Passing  = event.HealthPassing
	Warning  = event.HealthWarning
	Critical = event.HealthCritical
	// Maint is what Aggregate returns for checks that include a
	// maintenance check. Herald never writes it as a check's status (a
	// maintenance check is critical), but a check that has it anyway is
	// treated as in maintenance.
	Maint = event.HealthMaint
)

// Aggregate is Consul's AggregatedStatus: the status that stands for a list
// of checks, in the order maintenance > critical > warning > passing. A
// maintenance check counts as maintenance whatever its status; a status
// that is none of the four counts as critical (see the package comment); no
// checks at all is passing. Nil entries are skipped.
func Aggregate(checks []*event.Check) string {
	var warning, critical bool
	for _, c := range checks {
		if c == nil {
			continue
		}
		if IsMaintCheck(c.CheckID) || c.Status == Maint {
			return Maint
		}
		switch c.Status {
		case Passing:
		case Warning:
			warning = true
		default: // critical, or a status Herald does not know
			critical = true
		}
	}
	switch {
	case critical:
		return Critical
	case warning:
		return Warning
	}
	return Passing
}
