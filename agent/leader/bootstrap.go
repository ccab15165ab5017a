package leader

import (
	"context"
	"hash/fnv"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/membership"
	hlog "github.com/heraldhq/herald/log"
)

// Servers of a new cluster find each other by gossip (see
// docs/clustering.md): with -bootstrap-expect=N, each waits until it sees
// N alive servers of its datacenter expecting N, takes the first N by node
// ID as the initial voters, and starts its shards with them. Servers beyond
// the first N, and servers started later without -bootstrap-expect, wait
// for one of them to start and are then added as voters by the catalog
// shard's leader.
//
// Servers that start together may see each other in a different order, and
// so choose different first N: each would then start a shard whose voters
// disagree with another's, and no leader would ever be elected (seen with
// three servers expecting two). So a voter publishes the set it chose in a
// gossip tag (TagVoters) and starts only when every server of the set
// publishes the same; as gossip converges, so do the choices.

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
	// TagVoters names the set of initial voters a bootstrapping server
	// chose (a hash: gossip tags share a few hundred bytes).
	TagVoters = "boot_voters"
)

// Peer is a server as gossip describes it.
type Peer struct {
	Name, NodeID, RaftAddr string
	ReplicaID              uint64
	Expect                 int
	Bootstrapped           bool   // its shards run: a cluster exists to join
	Voters                 string // the initial voters it chose (TagVoters)
}

// PeerOf reads a server's gossip tags.
func PeerOf(m membership.Member) Peer {
	expect, _ := strconv.Atoi(m.Tags["expect"])
	rid, err := strconv.ParseUint(m.Tags[TagReplicaID], 16, 64)
	if err != nil || rid == 0 {
		rid = hlog.ReplicaIDFor(m.Tags["id"]) // what a new server's is
	}
	return Peer{Name: m.Name, NodeID: m.Tags["id"], RaftAddr: net.JoinHostPort(m.Addr, m.Tags["port"]),
		ReplicaID: rid, Expect: expect, Bootstrapped: m.Tags[TagBootstrapped] == "1", Voters: m.Tags[TagVoters]}
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
	var lastView, published string
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
		var ids []string
		for _, p := range expecting {
			ids = append(ids, p.NodeID+"@"+p.RaftAddr)
		}
		view := strings.Join(ids, ",")
		if view != lastView {
			lastView, stableSince = view, time.Now()
		}
		if time.Since(stableSince) < bootstrapSettle {
			continue
		}
		members := map[uint64]string{}
		self := false
		chosen := setTag(ids[:b.Expect])
		agreed := true
		for _, p := range expecting[:b.Expect] {
			members[p.ReplicaID] = p.RaftAddr
			self = self || p.NodeID == b.NodeID
			agreed = agreed && (p.NodeID == b.NodeID || p.Voters == chosen)
		}
		if !self {
			// One of the later servers: it joins once a voter has
			// started (above), and the leader adds it. Starting now
			// would mark it started, and voters still agreeing would
			// take that for a cluster to join.
			continue
		}
		if chosen != published {
			if err := b.Gossip.SetTags(map[string]string{TagVoters: chosen}); err != nil {
				b.Logger.Warn("cannot publish the chosen voters", "error", err)
				continue
			}
			published = chosen
		}
		if !agreed {
			continue // the others have not chosen the same voters yet
		}
		b.Logger.Info("bootstrapping the cluster", "servers", len(members), "voter", self)
		if err := b.StartShards(members); err != nil {
			b.Logger.Error("cannot start the shards", "error", err)
		}
		return
	}
}

// setTag names a set of servers briefly.
func setTag(ids []string) string {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(ids, ",")))
	return strconv.FormatUint(h.Sum64(), 36)
}
