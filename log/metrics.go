package log

import (
	"errors"
	"time"

	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/telemetry"
)

// measurePropose records one proposal of this server's: how long it took
// from the first attempt to its answer, with its outcome (herald.raft.propose),
// and for a committed one Consul's consul.raft.apply count and
// consul.raft.commitTime (here: from proposal to commit and apply on this
// server, which for a follower includes the trip to the leader).
func (h *Host) measurePropose(shard command.Shard, start time.Time, err error) {
	m := h.cfg.Metrics
	if m == nil {
		return
	}
	shardLabel := telemetry.Label{Name: "shard", Value: shard.String()}
	result := "ok"
	switch {
	case err == nil:
		m.IncrCounter([]string{"raft", "apply"}, 1, shardLabel)
		m.MeasureSince([]string{"raft", "commitTime"}, start, shardLabel)
	case errors.Is(err, ErrInDoubt):
		result = "in_doubt"
	case errors.Is(err, ErrNoLeader):
		result = "no_leader"
	default:
		result = "error"
	}
	m.MeasureSince([]string{"herald", "raft", "propose"}, start, shardLabel, telemetry.Label{Name: "result", Value: result})
}
