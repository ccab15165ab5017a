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

// RecordedLayout exposes the step worker and log database counts a data
// dir records.
func RecordedLayout(dir string) (stepWorkers, logDBs uint64) {
	s, _ := recordedLayout(dir)
	return s.StepWorkerCount, s.LogdbShardCount
}

// SetNewLayout makes new data dirs with Dragonboat's default counts, 16
// step workers and 16 log databases, as versions before Herald chose its
// own did, and returns a function that puts Herald's back.
func SetNewLayout(stepWorkers, logDBs uint64) (restore func()) {
	oldSteps, oldDBs := newStepWorkers, newLogDBShards
	newStepWorkers, newLogDBShards = stepWorkers, logDBs
	return func() { newStepWorkers, newLogDBShards = oldSteps, oldDBs }
}
