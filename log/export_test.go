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

// RecordedLogDBShards exposes the log database count a data dir records.
var RecordedLogDBShards = recordedLogDBShards

// SetNewLogDBShards makes new data dirs with n log databases, as versions
// before Herald chose its own count did with Dragonboat's 16, and returns
// a function that puts the count back.
func SetNewLogDBShards(n uint64) (restore func()) {
	old := newLogDBShards
	newLogDBShards = n
	return func() { newLogDBShards = old }
}
