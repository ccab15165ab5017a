package statemachine

import (
	"time"

	"github.com/heraldhq/herald/telemetry"
)

// measureApply records one applied batch: Consul's consul.raft.fsm.apply
// timer (here per batch of committed entries, from decoding to the
// projections having them) and herald.raft.fsm.entries, the entries
// applied.
func (s *StateMachine) measureApply(start time.Time, entries int) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	shard := telemetry.Label{Name: "shard", Value: s.cfg.Shard}
	m.MeasureSince([]string{"raft", "fsm", "apply"}, start, shard)
	m.IncrCounter([]string{"herald", "raft", "fsm", "entries"}, float32(entries), shard)
}
