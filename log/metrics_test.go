package log

import (
	"testing"

	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/telemetry"
)

// The labels built once per shard are the ones a sample needs: the shard's
// name, and for herald.raft.propose the outcome too.
func TestProposeLabels(t *testing.T) {
	for _, shard := range append(command.Shards(), command.Shard(9)) {
		l := labelsOf(shard)
		want := telemetry.Label{Name: "shard", Value: shard.String()}
		if len(l.shard) != 1 || l.shard[0] != want {
			t.Errorf("%v: shard labels %v", shard, l.shard)
		}
		for i, name := range resultNames {
			got := l.propose[i]
			if len(got) != 2 || got[0] != want || got[1] != (telemetry.Label{Name: "result", Value: name}) {
				t.Errorf("%v: propose labels for %s: %v", shard, name, got)
			}
		}
	}
	if labelsOf(command.ShardKV) != labelsOf(command.ShardKV) {
		t.Error("a known shard's labels are built again for every sample")
	}
}
