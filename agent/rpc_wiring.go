package agent

import (
	"io"

	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/log/command"
)

// startRPC lets agents without a replica (client agents) send Raft requests
// to this server over NATS.
func (a *Agent) startRPC() error {
	if a.natsConn == nil {
		return nil
	}
	stop, err := rpc.ServeWithACL(a.natsConn, a.cfg.Datacenter, a.rpcRaft(), serverShards{a}, a.rpcACL(), a.log.With("component", "rpc"))
	if err != nil {
		return err
	}
	a.stopRPC = stop
	return nil
}

// serverShards is what the RPC server needs of this server's replicas.
type serverShards struct{ a *Agent }

func (s serverShards) AppliedIndex(shardID command.Shard) uint64 {
	return s.a.shards[shardID].AppliedIndex()
}

// Export serves client agents' loads: without the ACL tokens' secrets,
// which a client agent never needs (it resolves tokens by their hashes).
func (s serverShards) Export(shardID command.Shard, w io.Writer) (uint64, error) {
	return s.a.shards[shardID].ExportWithoutSecrets(w)
}
func (s serverShards) LeaderAddress() string { return s.a.LeaderAddress() }
