package leader

import (
	"context"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// ConfigEntriesBootstrap writes the config entries of the agent's
// config_entries { bootstrap }, each only where no entry of its kind and
// name exists (a CAS on index 0), so that every server may try and a
// restart changes nothing an operator wrote since. It runs while this
// server leads the catalog shard, until every entry is settled.
type ConfigEntriesBootstrap struct {
	Raft    Proposer
	Entries []event.ConfigEntry // Kind, Name and Body of each
	Logger  *slog.Logger
}

// bootstrapRetry is how long a server waits before trying again, while it
// does not lead the catalog shard or a write failed.
const bootstrapRetry = time.Second

// Run writes the entries, then returns.
func (b *ConfigEntriesBootstrap) Run(ctx context.Context) {
	pending := append([]event.ConfigEntry(nil), b.Entries...)
	t := time.NewTicker(bootstrapRetry)
	defer t.Stop()
	for len(pending) > 0 {
		if b.Raft.IsLeader(command.ShardCatalog) {
			pending = b.write(ctx, pending)
		}
		if len(pending) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// write proposes each entry and returns those that could not be settled.
func (b *ConfigEntriesBootstrap) write(ctx context.Context, entries []event.ConfigEntry) []event.ConfigEntry {
	var left []event.ConfigEntry
	for _, e := range entries {
		res, err := b.Raft.Propose(ctx, command.Command{Time: time.Now().UnixNano(),
			Body: &command.ConfigEntrySetBody{Entry: e, CAS: true, Index: 0}})
		switch {
		case err != nil:
			if ctx.Err() == nil {
				b.Logger.Warn("cannot write a bootstrap config entry yet", "kind", e.Kind, "name", e.Name, "error", err)
			}
			left = append(left, e)
		case res.Succeeded:
			b.Logger.Info("wrote a bootstrap config entry", "kind", e.Kind, "name", e.Name)
		}
		// Refused: an entry of that kind and name exists, and stays.
	}
	return left
}
