package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
)

// errNotServer answers the operator requests that only servers serve.
var errNotServer = errors.New("the Raft configuration is read on servers: point the request at one")

// RaftConfiguration answers /v1/operator/raft/configuration.
func (a *Agent) RaftConfiguration(ctx context.Context) (httpapi.RaftConfiguration, error) {
	if a.host == nil {
		return httpapi.RaftConfiguration{}, errNotServer
	}
	out := httpapi.RaftConfiguration{Shards: map[string]httpapi.ShardRaft{}}
	names := a.voterNames()
	for _, id := range command.Shards() {
		s, err := a.shardRaft(ctx, id, names)
		if err != nil {
			if id == command.ShardCatalog {
				return httpapi.RaftConfiguration{}, err
			}
			s.Error = err.Error()
		}
		out.Shards[id.String()] = s
	}
	catalog := out.Shards[command.ShardCatalog.String()]
	out.Servers, out.Index = catalog.Servers, catalog.Index
	return out, nil
}

// shardRaft reads a shard's voters and leader: the one way the operator
// endpoints, /v1/status/leader and info learn them. names are the servers'
// node names and IDs by replica ID (voterNames). On error the result still
// has the leader when it is this server, and the applied index.
func (a *Agent) shardRaft(ctx context.Context, shardID command.Shard, names map[uint64][2]string) (httpapi.ShardRaft, error) {
	out := httpapi.ShardRaft{Index: a.shards[shardID].AppliedIndex(), Servers: []httpapi.RaftServer{}}
	leader, known := a.host.Leader(shardID)
	if known && leader == a.host.ReplicaID() {
		out.Leader, out.LeaderNode, out.LeaderID = a.host.RaftAddress(), a.cfg.NodeName, a.nodeID
	}
	members, err := a.host.Membership(ctx, shardID)
	if err != nil {
		return out, err
	}
	for rid, addr := range members.Voters {
		n := names[rid]
		isLeader := known && rid == leader
		out.Servers = append(out.Servers, httpapi.RaftServer{ID: n[1], Node: n[0], Address: addr, Leader: isLeader,
			ProtocolVersion: "3", Voter: true})
		if isLeader {
			out.Leader, out.LeaderNode, out.LeaderID = addr, n[0], n[1]
		}
	}
	sort.Slice(out.Servers, func(i, j int) bool { return out.Servers[i].Address < out.Servers[j].Address })
	return out, nil
}

// leaderAddress is the Raft address of a shard's leader, "" when none is
// known. It asks Raft for the voters only when another server leads.
func (a *Agent) leaderAddress(shardID command.Shard) string {
	if id, ok := a.host.Leader(shardID); !ok {
		return ""
	} else if id == a.host.ReplicaID() {
		return a.host.RaftAddress()
	}
	s, _ := a.shardRaft(context.Background(), shardID, nil)
	return s.Leader
}

// shardRaftStats is a shard's section of `info` and /v1/agent/self's Stats
// ("raft" for the catalog shard, as in Consul, "raft_<shard>" for the
// others), with Consul's keys where Herald has the value.
func (a *Agent) shardRaftStats(shardID command.Shard) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, _ := a.shardRaft(ctx, shardID, a.voterNames())
	_, known := a.host.Leader(shardID)
	leading := a.host.IsLeader(shardID)
	applied := strconv.FormatUint(s.Index, 10)
	return map[string]string{
		"shard":            shardID.String(),
		"state":            raftState(known, leading),
		"applied_index":    applied,
		"commit_index":     applied,
		"last_log_index":   applied,
		"num_peers":        strconv.Itoa(max(len(s.Servers)-1, 0)),
		"leader":           strconv.FormatBool(leading),
		"leader_addr":      s.Leader,
		"leader_node":      s.LeaderNode,
		"protocol_version": "3",
		"last_contact":     "0",
		"fsm_pending":      "0",
	}
}

// raftStatsSections are the raft sections of /v1/agent/self's Stats, one
// per shard on a server.
func (a *Agent) raftStatsSections() map[string]any {
	if a.host == nil {
		return map[string]any{"raft": map[string]string{"state": "client", "leader_addr": a.LeaderAddress()}}
	}
	out := map[string]any{}
	for _, id := range command.Shards() {
		name := "raft"
		if id != command.ShardCatalog {
			name += "_" + id.String()
		}
		out[name] = a.shardRaftStats(id)
	}
	return out
}

// voterNames maps servers' replica IDs to their node names and IDs, from
// gossip.
func (a *Agent) voterNames() map[uint64][2]string {
	names := map[uint64][2]string{a.host.ReplicaID(): {a.cfg.NodeName, a.nodeID}}
	if a.gossip != nil {
		for _, m := range a.gossip.Members() {
			if m.IsServer() && m.Tags["id"] != "" {
				names[leader.PeerOf(m).ReplicaID] = [2]string{m.Name, m.Tags["id"]}
			}
		}
	}
	return names
}

// RemovePeer serves DELETE /v1/operator/raft/peer: it removes the server
// with the given ID (as /v1/operator/raft/configuration shows it) or Raft
// address from every shard's voters.
func (a *Agent) RemovePeer(ctx context.Context, id, address string) error {
	if a.host == nil {
		return errors.New("peers are removed on servers: point the request at one")
	}
	members, err := a.host.Membership(ctx, command.ShardCatalog)
	if err != nil {
		return err
	}
	voters := members.Voters
	names := a.voterNames()
	target, found := uint64(0), false
	for rid, addr := range voters {
		if (address != "" && addr == address) || (id != "" && names[rid][1] == id) {
			target, found = rid, true
		}
	}
	if !found {
		what := "address " + strconv.Quote(address)
		if id != "" {
			what = "id " + strconv.Quote(id)
		}
		return agenterr.Mark(agenterr.ErrInvalid, fmt.Errorf("%s was not found in the Raft configuration", what))
	}
	for _, shard := range command.Shards() {
		if err := a.host.RemoveReplica(ctx, shard, target); err != nil {
			return fmt.Errorf("remove the peer from shard %s: %w", shard.String(), err)
		}
	}
	a.log.Info("removed a server from the voters on request", "server", voters[target])
	return nil
}
