package checks

import (
	"fmt"
	"strconv"

	"github.com/heraldhq/herald/event"
)

// AliasSource answers the aggregated health of another service instance or
// node, for alias checks. The agent implements it over its local state (for
// services on this agent) or its projections (for the rest of the cluster).
type AliasSource interface {
	// Health returns the worst status among the checks of node (and of
	// serviceID on it, if serviceID is not empty); an empty node means the
	// agent's own node. The status is passing when there are no checks, and
	// "" when the node or service does not exist. changed is closed when the
	// answer may have changed; a nil channel means it never will.
	Health(node, serviceID string) (status string, changed <-chan struct{})
}

// runAlias runs an alias check: it asks the source, mirrors the answer and
// asks again whenever the source says it may have changed.
func (c *check) runAlias() {
	for {
		status, changed := c.r.cfg.Alias.Health(c.def.AliasNode, c.def.AliasService)
		c.set(aliasResult(status, c.aliasTarget()))
		for waiting := true; waiting; {
			select {
			case <-c.ctx.Done():
				return
			case <-timerC(c.flush):
				c.flushOutput()
			case <-timerC(c.dereg):
				c.deregDue()
			case <-changed:
				waiting = false
			}
		}
	}
}

// aliasTarget names what the check aliases, for its output.
func (c *check) aliasTarget() string {
	switch {
	case c.def.AliasService == "":
		return "node " + strconv.Quote(c.def.AliasNode)
	case c.def.AliasNode == "":
		return "service " + strconv.Quote(c.def.AliasService)
	default:
		return fmt.Sprintf("service %q on node %q", c.def.AliasService, c.def.AliasNode)
	}
}

// aliasResult maps what the source said to the alias check's status and
// output. Anything but passing and warning (a missing target, maintenance,
// a status the source should not have returned) is critical, so that an
// alias never vouches for something it cannot see.
func aliasResult(status, target string) (string, string) {
	switch status {
	case event.HealthPassing:
		return event.HealthPassing, "All checks passing."
	case event.HealthWarning, event.HealthCritical:
		return status, fmt.Sprintf("Aliased %s is %s", target, status)
	case "":
		return event.HealthCritical, fmt.Sprintf("Aliased %s not found", target)
	default:
		return event.HealthCritical, fmt.Sprintf("Aliased %s is %s", target, status)
	}
}
