package agenttest

import (
	"testing"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
)

// StartWithACL is Start for an agent that enforces ACLs with resolver,
// its own writes going with agentIdentity (nil: the resolver's default).
func StartWithACL(t testing.TB, resolver acl.Resolver, agentIdentity func() acl.Identity, args ...string) *agent.Agent {
	t.Helper()
	return StartPrepared(t, func(a *agent.Agent) { a.SetACL(resolver, agentIdentity) }, args...)
}
