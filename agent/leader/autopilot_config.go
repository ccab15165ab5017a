package leader

import (
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/event"
)

// Consul's defaults for the autopilot settings that Herald's config file
// does not take; the API shows them until a configuration is written.
const (
	defaultLastContactThreshold    = 200 * time.Millisecond
	defaultMaxTrailingLogs         = 250
	defaultServerStabilizationTime = 10 * time.Second
)

// AutopilotFromFile is the autopilot configuration in force until one is
// written through the API: the config file's autopilot block, and
// Consul's defaults for the rest. Its indexes are 0, so a CAS write with
// ?cas=0 replaces it.
func AutopilotFromFile(c config.Autopilot) event.AutopilotConfig {
	return event.AutopilotConfig{
		CleanupDeadServers:      c.CleanupDeadServers,
		MinQuorum:               uint64(max(c.MinQuorum, 0)),
		LastContactThreshold:    int64(defaultLastContactThreshold),
		MaxTrailingLogs:         defaultMaxTrailingLogs,
		ServerStabilizationTime: int64(defaultServerStabilizationTime),
	}
}

// settings is what autopilot follows now: the replicated configuration
// once one was written (as in Consul, it then wins over the config file),
// else the config file's. DeadServerCleanupAfter, which Consul's
// configuration does not have, always comes from the file.
func (p *Autopilot) settings() config.Autopilot {
	c := p.Config
	if p.Stored == nil {
		return c
	}
	stored, err := p.Stored()
	if err != nil || stored == nil {
		return c
	}
	c.CleanupDeadServers = stored.CleanupDeadServers
	c.MinQuorum = int(min(stored.MinQuorum, 1<<31-1))
	return c
}
