package agent

import (
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/log/command"
)

// serversReadOrigin gates the origin of this agent's commands
// (command.Requests.SetRecordOrigin): a command with an origin is encoded
// as envelope version 3, which a server of an older build cannot decode
// and stops at. So the origin is recorded only once every server in gossip
// says it reads that version (membership.ServersDecode); from then on
// always, as servers are not downgraded. An agent without gossip (a lone
// dev server) records it at once.
func (a *Agent) serversReadOrigin() bool {
	if a.originReadable.Load() {
		return true
	}
	g := a.gossip
	if g == nil {
		return a.cfg.Ports.SerfLAN < 0
	}
	if !membership.ServersDecode(g.Members(), int(command.VersionOrigin)) {
		return false
	}
	a.originReadable.Store(true)
	return true
}
