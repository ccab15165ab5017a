package leader

import (
	"context"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/log/command"
)

// Publisher sends a shard's events to the stream (watch.Publisher).
type Publisher interface {
	// Run publishes until ctx ends or publishing fails.
	Run(ctx context.Context) error
	// Catchup drops from the outbox what the stream already holds.
	Catchup(ctx context.Context) error
}

// PublishWhileLeading publishes a shard's events into the cluster's one
// stream while this server leads the shard, until ctx ends. Every server
// could (the publisher's expected-sequence headers keep the stream
// exactly-once and in order whoever sends), but one sender is cheaper and
// sends each event to core NATS subscribers once. The others only follow
// the stream, to drop from their outboxes what it holds.
func PublishWhileLeading(ctx context.Context, raft Leading, shardID command.Shard, p Publisher, logger *slog.Logger) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var lastCatchup time.Time
	for ctx.Err() == nil {
		if !raft.IsLeader(shardID) {
			if time.Since(lastCatchup) > time.Second {
				lastCatchup = time.Now()
				if err := p.Catchup(ctx); err != nil && ctx.Err() == nil {
					logger.Debug("cannot read the event stream", "shard", shardID.String(), "error", err)
				}
			}
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			defer cancel()
			for raft.IsLeader(shardID) {
				select {
				case <-lctx.Done():
					return
				case <-t.C:
				}
			}
		}()
		if err := p.Run(lctx); err != nil {
			logger.Error("event publisher stopped", "shard", shardID.String(), "error", err)
		}
		cancel()
	}
}
