package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/serf/coordinate"
	"github.com/hashicorp/serf/serf"

	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/version"
)

// The agent's side of httpapi.Operator: autopilot, leader transfer, the
// gossip keyring and network coordinates.

var _ httpapi.Operator = (*Agent)(nil)

// errOnServers answers the operator requests that only servers serve.
var errOnServers = errors.New("operator requests are served by servers: point the request at one")

// operatorState is what the operator endpoints keep in memory.
type operatorState struct {
	mu sync.Mutex
	// coords are coordinates set through /v1/coordinate/update; they win
	// over gossip's for their nodes on this agent.
	coords map[string]*coordinate.Coordinate
	// stableSince is when each server was last seen becoming healthy.
	stableSince map[string]time.Time
}

// AutopilotConfiguration is the configuration in the catalog shard, or
// the config file's until one is written.
func (a *Agent) AutopilotConfiguration(ctx context.Context) (event.AutopilotConfig, error) {
	if a.host == nil {
		return event.AutopilotConfig{}, errOnServers
	}
	stored, err := a.shards[command.ShardCatalog].AutopilotConfig()
	if err != nil {
		return event.AutopilotConfig{}, err
	}
	if stored == nil {
		return leader.AutopilotFromFile(a.cfg.Autopilot), nil
	}
	return *stored, nil
}

// AutopilotServers are the catalog shard's voters (Consul's one Raft
// group) with their gossip status: a server is healthy when gossip has it
// alive. Herald does not measure followers' last contact or log position,
// so LastContact is 0 and LastIndex is known for this server only.
func (a *Agent) AutopilotServers(ctx context.Context) ([]httpapi.ServerHealth, error) {
	if a.host == nil {
		return nil, errOnServers
	}
	members, err := a.host.Membership(ctx, command.ShardCatalog)
	if err != nil {
		return nil, err
	}
	leaderID, known := a.host.Leader(command.ShardCatalog)
	gossip := map[uint64]membership.Member{}
	if a.gossip != nil {
		for _, m := range a.gossip.Members() {
			if m.IsServer() && m.Tags["id"] != "" {
				gossip[leader.PeerOf(m).ReplicaID] = m
			}
		}
	}
	names := a.voterNames()
	now := time.Now()
	a.ops.mu.Lock()
	defer a.ops.mu.Unlock()
	if a.ops.stableSince == nil {
		a.ops.stableSince = map[string]time.Time{}
	}
	var out []httpapi.ServerHealth
	for rid, addr := range members.Voters {
		n := names[rid]
		sh := httpapi.ServerHealth{ID: n[1], Name: n[0], Address: addr, SerfStatus: membership.StatusNone,
			Leader: known && rid == leaderID, LastContact: new(httpapi.ReadableDuration), Voter: true}
		if m, ok := gossip[rid]; ok {
			sh.SerfStatus = m.Status
			sh.Version, _, _ = strings.Cut(m.Tags[membership.TagBuild], ":")
		}
		if rid == a.host.ReplicaID() {
			sh.SerfStatus, sh.Version = membership.StatusAlive, version.ConsulCompat
			sh.LastIndex = a.shards[command.ShardCatalog].AppliedIndex()
		}
		sh.Healthy = sh.SerfStatus == membership.StatusAlive
		if !sh.Healthy {
			delete(a.ops.stableSince, sh.ID)
		} else if _, ok := a.ops.stableSince[sh.ID]; !ok {
			a.ops.stableSince[sh.ID] = now
		}
		sh.StableSince = a.ops.stableSince[sh.ID].Round(time.Second).UTC()
		out = append(out, sh)
	}
	return out, nil
}

// transferWait bounds how long a leader transfer may take to show.
const transferWait = 10 * time.Second

// TransferLeader moves the leadership of every shard to the server with
// the given ID (as /v1/operator/raft/configuration shows it), or, when id
// is "", to one voter other than the catalog shard's leader, and waits
// until the shards have their new leader.
func (a *Agent) TransferLeader(ctx context.Context, id string) error {
	if a.host == nil {
		return errOnServers
	}
	members, err := a.host.Membership(ctx, command.ShardCatalog)
	if err != nil {
		return err
	}
	names := a.voterNames()
	voters := make([]uint64, 0, len(members.Voters))
	for rid := range members.Voters {
		voters = append(voters, rid)
	}
	slices.Sort(voters)
	catalogLeader, _ := a.host.Leader(command.ShardCatalog)
	target := uint64(0)
	for _, rid := range voters {
		if (id != "" && names[rid][1] == id) || (id == "" && target == 0 && rid != catalogLeader) {
			target = rid
		}
	}
	switch {
	case target == 0 && id != "":
		return agenterr.Mark(agenterr.ErrInvalid, fmt.Errorf("cannot find peer %s in the Raft configuration", id))
	case target == 0:
		return agenterr.Mark(agenterr.ErrInvalid, errors.New("cannot transfer leadership: there is no other voter"))
	}
	for _, shard := range command.Shards() {
		if l, ok := a.host.Leader(shard); ok && l == target {
			continue
		}
		if err := a.host.TransferLeader(shard, target); err != nil {
			return err
		}
	}
	wait, cancel := context.WithTimeout(ctx, transferWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		moved := true
		for _, shard := range command.Shards() {
			l, ok := a.host.Leader(shard)
			moved = moved && ok && l == target
		}
		if moved {
			a.log.Info("transferred the shards' leadership on request", "to", names[target][0])
			return nil
		}
		select {
		case <-wait.Done():
			return fmt.Errorf("the leadership did not move to %s within %s", names[target][0], transferWait)
		case <-tick.C:
		}
	}
}

// Keyring runs a keyring operation on every member of the LAN pool, through
// Serf's key manager, and on a server with the WAN on, first on every member
// of the WAN pool (unless LocalOnly), as Consul does: the answer has the WAN response, then the
// LAN one. Any agent, server or client, can run it, since each member
// changes its own keyring (and keyring file). Members that failed or did not
// answer make a response's Error, with their messages, which the endpoint
// turns into Consul's 500; without gossip encryption every member answers
// that its keyring is empty.
func (a *Agent) Keyring(req httpapi.KeyringRequest) ([]httpapi.KeyringResponse, error) {
	if a.gossip == nil {
		return nil, errNoGossip
	}
	op, ok := map[httpapi.KeyringOp]membership.KeyOp{httpapi.KeyringList: membership.ListKeys,
		httpapi.KeyringInstall: membership.InstallKey, httpapi.KeyringUse: membership.UseKey,
		httpapi.KeyringRemove: membership.RemoveKey}[req.Op]
	if !ok {
		return nil, fmt.Errorf("unknown keyring operation %q", req.Op)
	}
	var out []httpapi.KeyringResponse
	if a.wan.gossip != nil && !req.LocalOnly {
		out = append(out, a.keyringOn(a.wan.gossip, "WAN", op, req))
		out[0].WAN = true
	}
	return append(out, a.keyringOn(a.gossip, "LAN", op, req)), nil
}

// keyringOn runs a keyring operation on one pool.
func (a *Agent) keyringOn(m *membership.Membership, pool string, op membership.KeyOp, req httpapi.KeyringRequest) httpapi.KeyringResponse {
	res, err := m.Keyring(op, req.Key, req.RelayFactor)
	out := httpapi.KeyringResponse{Datacenter: a.cfg.Datacenter, Messages: res.Messages, Keys: res.Keys,
		PrimaryKeys: res.PrimaryKeys, NumNodes: res.NumNodes}
	if len(out.Messages) == 0 {
		out.Messages = nil
	}
	if err != nil {
		out.Error = err.Error()
	}
	if req.Op != httpapi.KeyringList {
		a.log.Info("gossip keyring operation", "pool", pool, "operation", string(req.Op), "members", res.NumNodes,
			"failed", len(res.Messages))
	}
	return out
}

// Coordinates are the Vivaldi coordinates Serf keeps: this agent's own and
// those it learnt from the members it probed, overlaid with the ones set
// through /v1/coordinate/update on this agent.
func (a *Agent) Coordinates() []httpapi.CoordinateEntry {
	coords := map[string]*coordinate.Coordinate{}
	if a.gossip != nil {
		s := a.gossip.Serf()
		for _, m := range s.Members() {
			if m.Status != serf.StatusAlive {
				continue
			}
			if c, ok := s.GetCachedCoordinate(m.Name); ok && c != nil {
				coords[m.Name] = c
			}
		}
		if c, err := s.GetCoordinate(); err == nil {
			coords[a.cfg.NodeName] = c
		}
	}
	a.ops.mu.Lock()
	for node, c := range a.ops.coords {
		coords[node] = c
	}
	a.ops.mu.Unlock()
	out := make([]httpapi.CoordinateEntry, 0, len(coords))
	for node, c := range coords {
		out = append(out, httpapi.CoordinateEntry{Node: node, Coord: c})
	}
	return out
}

// UpdateCoordinate keeps a node's coordinate on this agent, in memory,
// when the node is in the catalog or in gossip (others are dropped): a
// client of Consul's API that computes its own coordinates (Consul agents
// send theirs to the servers) has them served and used by ?near here.
// Herald's own agents need none of it, since every agent's Serf measures
// the others.
func (a *Agent) UpdateCoordinate(c httpapi.CoordinateEntry) error {
	if a.gossip != nil {
		if own, err := a.gossip.Serf().GetCoordinate(); err == nil && !own.IsCompatibleWith(c.Coord) {
			return agenterr.Mark(agenterr.ErrInvalid, errors.New("incompatible coordinate"))
		}
	}
	if !a.knowsNode(c.Node) {
		// Consul's servers drop updates for nodes they do not have, and
		// the request still succeeds.
		return nil
	}
	a.ops.mu.Lock()
	defer a.ops.mu.Unlock()
	if a.ops.coords == nil {
		a.ops.coords = map[string]*coordinate.Coordinate{}
	}
	a.ops.coords[c.Node] = c.Coord
	return nil
}

// knowsNode reports whether a node is in the catalog or in gossip: the
// nodes whose coordinates are kept.
func (a *Agent) knowsNode(name string) bool {
	if info, _, _ := a.catalog.Node(name, false); info != nil {
		return true
	}
	if a.gossip != nil {
		for _, m := range a.gossip.Members() {
			if m.Name == name {
				return true
			}
		}
	}
	return false
}

// selfCoordinate is the agent's own coordinate for /v1/agent/self, nil
// without gossip.
func (a *Agent) selfCoordinate() *coordinate.Coordinate {
	if a.gossip == nil {
		return nil
	}
	c, err := a.gossip.Serf().GetCoordinate()
	if err != nil {
		return nil
	}
	return c
}
