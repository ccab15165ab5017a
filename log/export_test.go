package log

import (
	"context"

	"github.com/heraldhq/herald/log/command"
)

// Retry exposes retry to the external tests, which feed it the errors a
// stalled or leaderless Dragonboat returns.
func (h *Host) Retry(ctx context.Context, shard command.Shard, write bool, op func(context.Context) error) error {
	return h.retry(ctx, shard, write, op)
}
