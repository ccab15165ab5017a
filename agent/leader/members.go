package leader

import (
	"context"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/log/command"
)

// CatalogWriter proposes a catalog command and reports a refusal as an
// error.
type CatalogWriter interface {
	ApplyCatalog(ctx context.Context, body command.Body) error
}

// MemberGossip is Gossip with its membership events.
type MemberGossip interface {
	Members() []membership.Member
	Events() <-chan membership.Event
}

// MemberHealth keeps other nodes' serfHealth checks in step with gossip:
// failed is critical, alive is passing, left or reaped removes the node.
// Only the catalog shard's leader writes, so one server speaks for the
// pool.
type MemberHealth struct {
	Raft     Leading
	Gossip   MemberGossip
	Catalog  Nodes
	Writer   CatalogWriter
	NodeName string // this agent's, which it keeps itself
	Logger   *slog.Logger
}

// Run reconciles on every membership event and every second, so a leader
// elected after a failure still records it (it may have seen the event as
// a follower), until ctx ends.
func (h *MemberHealth) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.Gossip.Events():
		case <-t.C:
		}
		if h.Raft.IsLeader(command.ShardCatalog) {
			h.reconcile(ctx)
		}
	}
}

// reconcile writes what gossip says about each other node that the
// catalog records differently.
func (h *MemberHealth) reconcile(ctx context.Context) {
	for _, m := range h.Gossip.Members() {
		if m.Name == h.NodeName {
			continue
		}
		info, _, _ := h.Catalog.Node(m.Name, false)
		if info == nil {
			continue // not registered (yet): its agent registers itself
		}
		serf := ""
		for _, c := range info.Checks {
			if c.CheckID == health.SerfCheckID {
				serf = c.Status
			}
		}
		var body command.Body
		switch m.Status {
		case membership.StatusFailed:
			if serf != event.HealthCritical {
				body = &command.CheckStatusBody{Node: m.Name, CheckID: health.SerfCheckID, Status: event.HealthCritical,
					Output: "Agent not live or unreachable"}
			}
		case membership.StatusAlive:
			if serf == event.HealthCritical {
				body = &command.CheckStatusBody{Node: m.Name, CheckID: health.SerfCheckID, Status: event.HealthPassing,
					Output: "Agent alive and reachable"}
			}
		case membership.StatusLeft:
			body = &command.CatalogDeregisterBody{Node: m.Name}
		}
		if body == nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := h.Writer.ApplyCatalog(pctx, body); err != nil {
			h.Logger.Warn("cannot record a member's health", "node", m.Name, "status", m.Status, "error", err)
		}
		cancel()
	}
}
