package agent

import (
	"context"
	"errors"
	"sort"

	hlog "github.com/heraldhq/herald/log"
)

// RaftServer is an element of /v1/operator/raft/configuration.
type RaftServer struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
}

// RaftConfiguration answers /v1/operator/raft/configuration: the catalog
// shard's voters (the shard that stands for "the" Raft cluster where Consul
// has one), with node names and IDs from gossip.
func (a *Agent) RaftConfiguration(ctx context.Context) (any, uint64, error) {
	if a.host == nil {
		return nil, 0, errors.New("the Raft configuration is read on servers: point the request at one")
	}
	members, err := a.host.Membership(ctx, hlog.ShardCatalog)
	if err != nil {
		return nil, 0, err
	}
	voters := members.Voters
	names := a.voterNames()
	leader, _ := a.host.Leader(hlog.ShardCatalog)
	out := make([]RaftServer, 0, len(voters))
	for rid, addr := range voters {
		n := names[rid]
		out = append(out, RaftServer{ID: n[1], Node: n[0], Address: addr, Leader: rid == leader,
			ProtocolVersion: "3", Voter: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, a.shards[hlog.ShardCatalog].AppliedIndex(), nil
}

// voterNames maps servers' replica IDs to their node names and IDs, from
// gossip.
func (a *Agent) voterNames() map[uint64][2]string {
	names := map[uint64][2]string{a.host.ReplicaID(): {a.cfg.NodeName, a.nodeID}}
	if a.gossip != nil {
		for _, m := range a.gossip.Members() {
			if m.IsServer() && m.Tags["id"] != "" {
				names[peerOf(m).replicaID] = [2]string{m.Name, m.Tags["id"]}
			}
		}
	}
	return names
}
