package agent

import (
	"context"

	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/configentry"
	"github.com/heraldhq/herald/event"
)

// startConfigEntries has a server write the config entries of its
// config_entries { bootstrap } where they do not exist yet. Only in the
// primary datacenter, as in Consul: a secondary's entries are the
// primary's (cfgrep.go), and replication would delete its own.
func (a *Agent) startConfigEntries(ctx context.Context) {
	if a.host == nil || len(a.cfg.ConfigEntriesBootstrap) == 0 {
		return
	}
	if a.configSecondary() {
		a.log.Info("config_entries bootstrap left out: this datacenter replicates the config entries of the primary",
			"primary", a.cfg.WAN.PrimaryDatacenter)
		return
	}
	var entries []event.ConfigEntry
	for _, e := range a.cfg.ConfigEntriesBootstrap {
		body, err := configentry.Body(e)
		if err != nil {
			a.log.Error("bootstrap config entry left out", "kind", e.GetKind(), "name", e.GetName(), "error", err)
			continue
		}
		entries = append(entries, event.ConfigEntry{Kind: e.GetKind(), Name: e.GetName(), Body: body})
	}
	b := leader.ConfigEntriesBootstrap{Raft: a.host, Entries: entries, Logger: a.log.With("component", "config-entries")}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		b.Run(ctx)
	}()
}
