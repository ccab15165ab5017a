package agent

import (
	"strconv"

	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/log/command"
)

// serversReadOrigin gates the origin of this agent's commands
// (command.Requests.SetRecordOrigin): a command with an origin is encoded
// as envelope version 3, which a server of an older build cannot decode
// and stops at. So the origin is recorded only once every server in
// gossip that has not left says it reads version 3 (its cmd_vsn tag); from
// then on always, as servers are not downgraded. An agent without gossip
// (a lone dev server) records it at once.
func (a *Agent) serversReadOrigin() bool {
	if a.originReadable.Load() {
		return true
	}
	g := a.gossip
	if g == nil {
		return a.cfg.Ports.SerfLAN < 0
	}
	sawServer := false
	for _, m := range g.Members() {
		if m.Tags[membership.TagRole] != membership.RoleServer || m.Status == membership.StatusLeft {
			continue
		}
		vsn, _ := strconv.Atoi(m.Tags[membership.TagCmdVsn])
		if vsn < int(command.VersionOrigin) {
			return false
		}
		sawServer = true
	}
	if sawServer {
		a.originReadable.Store(true)
	}
	return sawServer
}
