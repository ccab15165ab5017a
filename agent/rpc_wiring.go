package agent

import (
	"github.com/heraldhq/herald/agent/rpc"
)

// startRPC lets agents without a replica (client agents) send Raft requests
// to this server over NATS.
func (a *Agent) startRPC() error {
	if a.natsConn == nil {
		return nil
	}
	stop, err := rpc.Serve(a.natsConn, a.cfg.Datacenter, a.host,
		func(shardID uint64) uint64 { return a.shards[shardID].AppliedIndex() }, a.log.With("component", "rpc"))
	if err != nil {
		return err
	}
	a.stopRPC = stop
	return nil
}
