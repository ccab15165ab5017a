package agent

import "github.com/heraldhq/herald/log/command"

// StartOnlyShards makes the servers started afterwards start only the
// given shards, as a build from before the others did, until the returned
// function restores the list.
func StartOnlyShards(ids ...command.Shard) (restore func()) {
	old := shardsToStart
	shardsToStart = func() []command.Shard { return ids }
	return func() { shardsToStart = old }
}
