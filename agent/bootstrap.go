package agent

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/heraldhq/herald/agent/membership"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// Servers of a new cluster find each other by gossip (see
// docs/clustering.md): with -bootstrap-expect=N, each waits until it sees
// N alive servers of its datacenter expecting N, takes the first N by node
// ID as the initial voters, and starts its shards with them; every server
// computes the same set, so nothing else needs agreeing on. Servers beyond
// the first N, and servers started later without -bootstrap-expect, are
// added as voters by the catalog shard's leader.

// bootstrapSettle is how long the servers seen must stay the same before a
// server bootstraps with them.
const bootstrapSettle = time.Second

// peer is a server as gossip describes it.
type peer struct {
	name, nodeID, raftAddr string
	replicaID              uint64
	expect                 int
	bootstrapped           bool // its shards run: a cluster exists to join
}

// gossipServers lists the alive servers of this datacenter that gossip
// knows, this one included.
func (a *Agent) gossipServers() []peer {
	var out []peer
	for _, m := range a.gossip.Members() {
		if m.Status != membership.StatusAlive || !m.IsServer() || m.Tags["dc"] != a.cfg.Datacenter || m.Tags["id"] == "" {
			continue
		}
		out = append(out, peerOf(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].nodeID < out[j].nodeID })
	return out
}

// peerOf reads a server's gossip tags.
func peerOf(m membership.Member) peer {
	expect, _ := strconv.Atoi(m.Tags["expect"])
	rid, err := strconv.ParseUint(m.Tags[tagReplicaID], 16, 64)
	if err != nil || rid == 0 {
		rid = hlog.ReplicaIDFor(m.Tags["id"]) // what a new server's is
	}
	return peer{name: m.Name, nodeID: m.Tags["id"], raftAddr: net.JoinHostPort(m.Addr, m.Tags["port"]),
		replicaID: rid, expect: expect, bootstrapped: m.Tags[tagBootstrapped] == "1"}
}

// startClustered starts the shards of a server that is not alone: at once
// when it restarts on its Raft state or joins a running cluster, and once
// its peers are there when it bootstraps a new one.
func (a *Agent) startClustered(ctx context.Context) error {
	if a.host.HasReplica(command.ShardCatalog) || a.cfg.BootstrapExpect <= 1 {
		return a.startShards(nil)
	}
	if a.gossip == nil {
		return a.startShards(nil)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		// The set of servers seen must hold still for a moment before it is
		// acted on, so that servers starting together decide on the same
		// view; and a server that sees one already bootstrapped joins it
		// rather than starting a second cluster.
		var lastView string
		var stableSince time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var expecting []peer
			joined := false
			for _, p := range a.gossipServers() {
				joined = joined || p.bootstrapped
				if p.expect == a.cfg.BootstrapExpect {
					expecting = append(expecting, p)
				}
			}
			if joined {
				a.log.Info("joining the cluster that the other servers started")
				if err := a.startShards(nil); err != nil {
					a.log.Error("cannot start the shards", "error", err)
				}
				return
			}
			if len(expecting) < a.cfg.BootstrapExpect {
				lastView = ""
				continue
			}
			view := fmt.Sprint(expecting)
			if view != lastView {
				lastView, stableSince = view, time.Now()
			}
			if time.Since(stableSince) < bootstrapSettle {
				continue
			}
			members := map[uint64]string{}
			self := false
			for _, p := range expecting[:a.cfg.BootstrapExpect] {
				members[p.replicaID] = p.raftAddr
				self = self || p.nodeID == a.nodeID
			}
			if !self {
				members = nil // one of the later servers: the leader adds it
			}
			a.log.Info("bootstrapping the cluster", "servers", len(members), "voter", self)
			if err := a.startShards(members); err != nil {
				a.log.Error("cannot start the shards", "error", err)
			}
			return
		}
	}()
	return nil
}

// Gossip tags of servers: tagBootstrapped marks one whose shards run,
// tagReplicaID carries its replica ID (hex), and tagRemoved, set by the
// catalog shard's leader, lists the replica IDs of alive servers that were
// removed from the shards and must start over (see replica.go).
const (
	tagBootstrapped = "raft_started"
	tagReplicaID    = "rid"
	tagRemoved      = "rid_removed"
)
