package leader

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Autopilot keeps the shards' voters in step with the servers that gossip
// knows, as Consul's autopilot does. The catalog shard's leader adds every
// alive server that is not a voter, removes servers that left, and removes
// servers that gossip has declared failed for autopilot's
// dead_server_cleanup_after. A removed server that comes back cannot be
// added again under its old replica ID (Raft's rule), so the leader names it
// in its gossip tags, and that server clears its Raft state and restarts to
// join as a new voter (replica.go).

// RejoinMarker, in the data dir, asks the next start to clear the Raft
// state first: this server was removed from the shards.
const RejoinMarker = "rejoin"

// Autopilot runs on every server: where it leads the catalog shard it
// reconciles the voters, and everywhere it watches for its own removal.
type Autopilot struct {
	Raft       Voters
	Gossip     Gossip
	Datacenter string
	Config     config.Autopilot
	// Stored reads the autopilot configuration written through the API
	// (nil when none was): it overrides Config (autopilot_config.go).
	Stored func() (*event.AutopilotConfig, error)
	// StartOver is called when the leader says, in gossip, that this
	// server was removed from the shards.
	StartOver func(reason string)
	Logger    *slog.Logger
}

// Run runs autopilot until ctx ends.
func (p *Autopilot) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failedSince := map[uint64]time.Time{}
	tagged := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.noticeRemoval()
		removed := ""
		if p.Raft.IsLeader(command.ShardCatalog) {
			removed = p.reconcileVoters(ctx, failedSince)
		} else {
			clear(failedSince)
		}
		if removed != tagged && p.Gossip.SetTags(map[string]string{TagRemoved: removed}) == nil {
			tagged = removed
		}
	}
}

// reconcileVoters adds and removes voters where this server leads the
// catalog shard, and returns the replica IDs (the TagRemoved value) of
// alive servers that were removed and must start over.
func (p *Autopilot) reconcileVoters(ctx context.Context, failedSince map[uint64]time.Time) string {
	byReplica := map[uint64]membership.Member{}
	for _, m := range p.Gossip.Members() {
		if m.IsServer() && m.Tags["dc"] == p.Datacenter && m.Tags["id"] != "" {
			byReplica[PeerOf(m).ReplicaID] = m
		}
	}
	var startOver []string
	settings := p.settings()
	for _, shard := range command.Shards() {
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		members, err := p.Raft.Membership(mctx, shard)
		cancel()
		if err != nil {
			continue
		}
		voters, removed := members.Voters, members.Removed
		for rid, m := range byReplica {
			if m.Status != membership.StatusAlive {
				continue
			}
			if _, ok := voters[rid]; ok {
				continue
			}
			if removed[rid] {
				startOver = append(startOver, strconv.FormatUint(rid, 16))
				continue
			}
			peer := PeerOf(m)
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := p.Raft.AddVoter(actx, shard, rid, peer.RaftAddr)
			cancel()
			if err != nil {
				p.Logger.Warn("cannot add a server as a voter", "shard", shard.String(), "server", m.Name, "error", err)
				continue
			}
			p.Logger.Info("added a server as a voter", "shard", shard.String(), "server", m.Name)
		}
		if !settings.CleanupDeadServers {
			continue
		}
		for rid := range voters {
			if rid == p.Raft.ReplicaID() || len(voters) <= max(settings.MinQuorum, 1) {
				continue
			}
			m, known := byReplica[rid]
			reason := ""
			switch {
			case known && m.Status == membership.StatusLeft:
				reason = "it left"
			case !known || m.Status != membership.StatusFailed:
				// Alive, or not (yet) known to this server's gossip, as
				// just after it restarted: only gossip's verdict counts.
				delete(failedSince, rid)
				continue
			default:
				if failedSince[rid].IsZero() {
					failedSince[rid] = time.Now()
				}
				if time.Since(failedSince[rid]) < p.Config.DeadServerCleanupAfter {
					continue
				}
				reason = "it has been dead for " + p.Config.DeadServerCleanupAfter.String()
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := p.Raft.RemoveReplica(rctx, shard, rid)
			cancel()
			if err != nil {
				p.Logger.Warn("cannot remove a server from the voters", "shard", shard.String(), "server", m.Name, "error", err)
				continue
			}
			delete(voters, rid)
			p.Logger.Info("removed a server from the voters", "shard", shard.String(), "server", m.Name, "reason", reason)
		}
	}
	slices.Sort(startOver)
	return strings.Join(slices.Compact(startOver), ",")
}

// noticeRemoval starts this server over when the leader says, in gossip,
// that it was removed from the shards.
func (p *Autopilot) noticeRemoval() {
	mine := strconv.FormatUint(p.Raft.ReplicaID(), 16)
	for _, m := range p.Gossip.Members() {
		if m.Status == membership.StatusAlive && slices.Contains(strings.Split(m.Tags[TagRemoved], ","), mine) {
			p.StartOver(fmt.Sprintf("server %s reports that this server was removed from the cluster", m.Name))
			return
		}
	}
}

// LeaveVoters removes this server from every shard's voters before it
// leaves, unless it is the last voter (then it keeps the data, and starting
// it again brings the cluster back), and marks dataDir so that its next
// start joins as a new voter.
func LeaveVoters(raft Voters, dataDir string, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	members, err := raft.Membership(ctx, command.ShardCatalog)
	if _, ok := members.Voters[raft.ReplicaID()]; err != nil || !ok || len(members.Voters) <= 1 {
		return
	}
	for _, shard := range command.Shards() {
		if err := raft.RemoveReplica(ctx, shard, raft.ReplicaID()); err != nil {
			logger.Error("cannot leave the voters; this server stays a voter", "shard", shard.String(), "error", err)
			return
		}
	}
	if err := MarkRejoin(dataDir, "left the cluster"); err != nil {
		logger.Error("cannot mark the data dir for a rejoin", "error", err)
	}
	logger.Info("left the voters; the next start joins the cluster as a new voter")
}
