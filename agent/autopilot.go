package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/httpapi"
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

// rejoinMarker, in the data dir, asks the next start to clear the Raft
// state first: this server was removed from the shards.
const rejoinMarker = "rejoin"

// autopilot runs on every server until ctx ends.
func (a *Agent) autopilot(ctx context.Context) {
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
		a.noticeRemoval()
		removed := ""
		if a.host.IsLeader(command.ShardCatalog) {
			removed = a.reconcileVoters(ctx, failedSince)
		} else {
			clear(failedSince)
		}
		if removed != tagged && a.gossip.SetTags(map[string]string{tagRemoved: removed}) == nil {
			tagged = removed
		}
	}
}

// reconcileVoters adds and removes voters where this server leads the
// catalog shard, and returns the replica IDs (the tagRemoved value) of
// alive servers that were removed and must start over.
func (a *Agent) reconcileVoters(ctx context.Context, failedSince map[uint64]time.Time) string {
	byReplica := map[uint64]membership.Member{}
	for _, m := range a.gossip.Members() {
		if m.IsServer() && m.Tags["dc"] == a.cfg.Datacenter && m.Tags["id"] != "" {
			byReplica[peerOf(m).replicaID] = m
		}
	}
	var startOver []string
	for _, shard := range command.Shards() {
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		members, err := a.host.Membership(mctx, shard)
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
			p := peerOf(m)
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := a.host.AddVoter(actx, shard, rid, p.raftAddr)
			cancel()
			if err != nil {
				a.log.Warn("cannot add a server as a voter", "shard", shard.String(), "server", m.Name, "error", err)
				continue
			}
			a.log.Info("added a server as a voter", "shard", shard.String(), "server", m.Name)
		}
		if !a.cfg.Autopilot.CleanupDeadServers {
			continue
		}
		for rid := range voters {
			if rid == a.host.ReplicaID() || len(voters) <= max(a.cfg.Autopilot.MinQuorum, 1) {
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
				if time.Since(failedSince[rid]) < a.cfg.Autopilot.DeadServerCleanupAfter {
					continue
				}
				reason = "it has been dead for " + a.cfg.Autopilot.DeadServerCleanupAfter.String()
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := a.host.RemoveReplica(rctx, shard, rid)
			cancel()
			if err != nil {
				a.log.Warn("cannot remove a server from the voters", "shard", shard.String(), "server", m.Name, "error", err)
				continue
			}
			delete(voters, rid)
			a.log.Info("removed a server from the voters", "shard", shard.String(), "server", m.Name, "reason", reason)
		}
	}
	slices.Sort(startOver)
	return strings.Join(slices.Compact(startOver), ",")
}

// noticeRemoval starts this server over when the leader says, in gossip,
// that it was removed from the shards.
func (a *Agent) noticeRemoval() {
	mine := strconv.FormatUint(a.host.ReplicaID(), 16)
	for _, m := range a.gossip.Members() {
		if m.Status == membership.StatusAlive && slices.Contains(strings.Split(m.Tags[tagRemoved], ","), mine) {
			a.startOver(fmt.Sprintf("server %s reports that this server was removed from the cluster", m.Name))
			return
		}
	}
}

// startOver marks the data dir so that the next start clears the Raft state
// and joins as a new voter, and asks the process to restart.
func (a *Agent) startOver(reason string) {
	if a.leaving.Load() {
		return // leaving already: the next start, whenever it is, rejoins
	}
	a.restartOnce.Do(func() {
		a.log.Error("restarting to rejoin the cluster as a new voter", "reason", reason)
		if err := os.WriteFile(filepath.Join(a.dataDir, rejoinMarker), []byte(reason+"\n"), 0o600); err != nil {
			a.log.Error("cannot mark the data dir for a rejoin", "error", err)
			return
		}
		close(a.restart)
	})
}

// RestartRequested is closed when the agent must be restarted (its process
// shuts it down and starts again): this server was removed from the
// cluster and rejoins under a new replica ID.
func (a *Agent) RestartRequested() <-chan struct{} { return a.restart }

// leaveRaft removes this server from every shard's voters before it leaves,
// unless it is the last voter (then it keeps the data, and starting it
// again brings the cluster back). Its next start joins as a new voter.
func (a *Agent) leaveRaft() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	members, err := a.host.Membership(ctx, command.ShardCatalog)
	if _, ok := members.Voters[a.host.ReplicaID()]; err != nil || !ok || len(members.Voters) <= 1 {
		return
	}
	for _, shard := range command.Shards() {
		if err := a.host.RemoveReplica(ctx, shard, a.host.ReplicaID()); err != nil {
			a.log.Error("cannot leave the voters; this server stays a voter", "shard", shard.String(), "error", err)
			return
		}
	}
	if err := os.WriteFile(filepath.Join(a.dataDir, rejoinMarker), []byte("left the cluster\n"), 0o600); err != nil {
		a.log.Error("cannot mark the data dir for a rejoin", "error", err)
	}
	a.log.Info("left the voters; the next start joins the cluster as a new voter")
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
		return &httpapi.StatusError{Code: http.StatusBadRequest, Err: fmt.Errorf("%s was not found in the Raft configuration", what)}
	}
	for _, shard := range command.Shards() {
		if err := a.host.RemoveReplica(ctx, shard, target); err != nil {
			return fmt.Errorf("remove the peer from shard %s: %w", shard.String(), err)
		}
	}
	a.log.Info("removed a server from the voters on request", "server", voters[target])
	return nil
}
