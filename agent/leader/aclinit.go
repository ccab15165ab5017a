package leader

import (
	"context"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// aclCheckEvery is how often a server that leads the system shard looks
// for missing built-in ACL records, besides whenever the ACL state changes.
const aclCheckEvery = time.Second

// ACLInit makes the built-in ACL records (the global-management policy and
// the anonymous token) and the configured initial management token where
// this server leads the system shard and its projection lacks them: at the
// first leadership with ACLs on, and again after a restore took them away.
// The apply makes only what is missing, so a command proposed by two
// leaders in turn, or by every server of a cluster, makes each record once.
type ACLInit struct {
	Raft Proposer
	// Complete reports whether everything is in place; with watch, it
	// also returns a channel closed at the next ACL change.
	Complete func(watch bool) (bool, <-chan struct{})
	// InitialManagement is the configured initial management SecretID, ""
	// for none.
	InitialManagement string
	Logger            *slog.Logger
}

// Run checks until ctx ends.
func (i *ACLInit) Run(ctx context.Context) {
	t := time.NewTicker(aclCheckEvery)
	defer t.Stop()
	for {
		done, changed := i.Complete(true)
		if !done && i.Raft.IsLeader(command.ShardSystem) {
			res, err := i.Raft.Propose(ctx, command.Command{Time: time.Now().UnixNano(), Body: &command.ACLInitBody{
				ManagementAccessorID: event.NewUUID(), ManagementSecretID: i.InitialManagement, CreateTime: time.Now().UnixNano()}})
			switch {
			case err != nil && ctx.Err() == nil:
				i.Logger.Warn("cannot initialize ACLs yet", "error", err)
			case err == nil && !res.Succeeded:
				i.Logger.Error("ACL initialization refused", "why", res.Refusal)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}
