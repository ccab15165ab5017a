package leader

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/heraldhq/herald/agent/membership"
	hlog "github.com/heraldhq/herald/log"
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

// Gossip tags of servers: TagBootstrapped marks one whose shards run,
// TagReplicaID carries its replica ID (hex), and TagRemoved, set by the
// catalog shard's leader, lists the replica IDs of alive servers that were
// removed from the shards and must start over (see replica.go).
const (
	TagBootstrapped = "raft_started"
	TagReplicaID    = "rid"
	TagRemoved      = "rid_removed"
)

// Peer is a server as gossip describes it.
type Peer struct {
	Name, NodeID, RaftAddr string
	ReplicaID              uint64
	Expect                 int
	Bootstrapped           bool // its shards run: a cluster exists to join
}

// PeerOf reads a server's gossip tags.
func PeerOf(m membership.Member) Peer {
	expect, _ := strconv.Atoi(m.Tags["expect"])
	rid, err := strconv.ParseUint(m.Tags[TagReplicaID], 16, 64)
	if err != nil || rid == 0 {
		rid = hlog.ReplicaIDFor(m.Tags["id"]) // what a new server's is
	}
	return Peer{Name: m.Name, NodeID: m.Tags["id"], RaftAddr: net.JoinHostPort(m.Addr, m.Tags["port"]),
		ReplicaID: rid, Expect: expect, Bootstrapped: m.Tags[TagBootstrapped] == "1"}
}

// Bootstrap waits for the servers of a new cluster and starts this
// server's shards: with the first Expect servers as the voters, or with
// none (to be added by the leader) when this server is not among them or
// another server has already bootstrapped.
type Bootstrap struct {
	Gossip     Gossip
	Datacenter string
	NodeID     string // this server's
	Expect     int    // bootstrap_expect, more than 1
	// StartShards starts this server's replica of every shard; members as
	// for log.Host.StartShard.
	StartShards func(members map[uint64]string) error
	Logger      *slog.Logger
}

// servers lists the alive servers of this datacenter that gossip knows,
// this one included.
func (b *Bootstrap) servers() []Peer {
	var out []Peer
	for _, m := range b.Gossip.Members() {
		if m.Status != membership.StatusAlive || !m.IsServer() || m.Tags["dc"] != b.Datacenter || m.Tags["id"] == "" {
			continue
		}
		out = append(out, PeerOf(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// Run waits until the shards can start, starts them, and returns; or
// returns when ctx ends.
func (b *Bootstrap) Run(ctx context.Context) {
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
		var expecting []Peer
		joined := false
		for _, p := range b.servers() {
			joined = joined || p.Bootstrapped
			if p.Expect == b.Expect {
				expecting = append(expecting, p)
			}
		}
		if joined {
			b.Logger.Info("joining the cluster that the other servers started")
			if err := b.StartShards(nil); err != nil {
				b.Logger.Error("cannot start the shards", "error", err)
			}
			return
		}
		if len(expecting) < b.Expect {
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
		for _, p := range expecting[:b.Expect] {
			members[p.ReplicaID] = p.RaftAddr
			self = self || p.NodeID == b.NodeID
		}
		if !self {
			members = nil // one of the later servers: the leader adds it
		}
		b.Logger.Info("bootstrapping the cluster", "servers", len(members), "voter", self)
		if err := b.StartShards(members); err != nil {
			b.Logger.Error("cannot start the shards", "error", err)
		}
		return
	}
}
