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
	l := labelsOf(shard)
	result := resultOK
	switch {
	case err == nil:
		m.IncrCounter([]string{"raft", "apply"}, 1, l.shard...)
		m.MeasureSince([]string{"raft", "commitTime"}, start, l.shard...)
	case errors.Is(err, ErrInDoubt):
		result = resultInDoubt
	case errors.Is(err, ErrNoLeader):
		result = resultNoLeader
	default:
		result = resultError
	}
	m.MeasureSince([]string{"herald", "raft", "propose"}, start, l.propose[result]...)
}

// The outcomes herald.raft.propose is labelled with.
const (
	resultOK = iota
	resultInDoubt
	resultNoLeader
	resultError
	resultCount
)

var resultNames = [resultCount]string{"ok", "in_doubt", "no_leader", "error"}

// proposeLabels are one shard's metric labels, built once: every write
// records three samples, and building their label slices each time was a
// measurable share of a write's allocations. The sinks only read them.
type proposeLabels struct {
	shard   []telemetry.Label
	propose [resultCount][]telemetry.Label
}

var shardLabels = func() map[command.Shard]*proposeLabels {
	out := map[command.Shard]*proposeLabels{}
	for _, s := range command.Shards() {
		out[s] = newProposeLabels(s)
	}
	return out
}()

func newProposeLabels(shard command.Shard) *proposeLabels {
	shardLabel := telemetry.Label{Name: "shard", Value: shard.String()}
	l := &proposeLabels{shard: []telemetry.Label{shardLabel}}
	for i, name := range resultNames {
		l.propose[i] = []telemetry.Label{shardLabel, {Name: "result", Value: name}}
	}
	return l
}

// labelsOf returns the shard's labels; a shard not known when the package
// was built gets fresh ones.
func labelsOf(shard command.Shard) *proposeLabels {
	if l, ok := shardLabels[shard]; ok {
		return l
	}
	return newProposeLabels(shard)
}
