package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"

	"net/http"
)

// startGossip joins the agent to the Serf LAN pool (when its port is not
// -1), joins the addresses of -join and -retry-join, and turns members'
// health into their nodes' serfHealth checks.
func (a *Agent) startGossip(ctx context.Context) error {
	if a.cfg.Ports.SerfLAN < 0 {
		return nil
	}
	timing := "lan"
	if a.cfg.Dev {
		timing = "local"
	}
	m, err := membership.Start(membership.Config{
		NodeName: a.cfg.NodeName, NodeID: a.nodeID, Datacenter: a.cfg.Datacenter,
		BindAddr: a.cfg.BindAddr, Port: a.cfg.Ports.SerfLAN, AdvertiseAddr: a.cfg.AdvertiseAddr,
		Server: a.cfg.Server || a.cfg.Dev, ServerPort: a.cfg.Ports.Server,
		HTTPPort: max(a.cfg.Ports.HTTP, 0), NATSPort: max(a.cfg.Ports.NATS, 0),
		Bootstrap: a.cfg.Bootstrap || a.cfg.Dev, BootstrapExpect: a.cfg.BootstrapExpect,
		EncryptKey: a.cfg.Encrypt, Timing: timing, Logger: a.log.With("component", "gossip"),
	})
	if err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	a.gossip = m
	if a.host != nil {
		m.SetTags(map[string]string{tagReplicaID: strconv.FormatUint(a.host.ReplicaID(), 16)})
	}
	if a.shardsStarted.Load() {
		m.SetTags(map[string]string{tagBootstrapped: "1"})
	}
	if len(a.cfg.StartJoin) > 0 {
		if _, err := m.Join(a.cfg.StartJoin); err != nil {
			return fmt.Errorf("join %v: %w", a.cfg.StartJoin, err)
		}
	}
	if len(a.cfg.RetryJoin) > 0 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := membership.RetryJoin(ctx, m, a.cfg.RetryJoin, a.cfg.RetryInterval, a.cfg.RetryMax); err != nil && ctx.Err() == nil {
				a.log.Error("retry-join gave up", "addresses", a.cfg.RetryJoin, "error", err)
			}
		}()
	}
	if a.host != nil || a.cfg.Server || a.cfg.Dev {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.followMembers(ctx)
		}()
	}
	return nil
}

// followMembers keeps other nodes' serfHealth checks in step with gossip:
// failed is critical, alive is passing, left or reaped removes the node.
// Only the catalog shard's leader writes, so one server speaks for the
// pool. It reconciles on every membership event and every second, so a
// leader elected after a failure still records it (it may have seen the
// event as a follower).
func (a *Agent) followMembers(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.gossip.Events():
		case <-t.C:
		}
		if a.host.IsLeader(command.ShardCatalog) {
			a.reconcileMembers(ctx)
		}
	}
}

// reconcileMembers writes what gossip says about each other node that the
// catalog records differently.
func (a *Agent) reconcileMembers(ctx context.Context) {
	for _, m := range a.gossip.Members() {
		if m.Name == a.cfg.NodeName {
			continue
		}
		info, _, _ := a.catalog.Node(m.Name, false)
		if info == nil {
			continue // not registered (yet): its agent registers itself
		}
		serf := ""
		for _, c := range info.Checks {
			if c.CheckID == serfCheckID {
				serf = c.Status
			}
		}
		var body command.Body
		switch m.Status {
		case membership.StatusFailed:
			if serf != event.HealthCritical {
				body = &command.CheckStatusBody{Node: m.Name, CheckID: serfCheckID, Status: event.HealthCritical,
					Output: "Agent not live or unreachable"}
			}
		case membership.StatusAlive:
			if serf == event.HealthCritical {
				body = &command.CheckStatusBody{Node: m.Name, CheckID: serfCheckID, Status: event.HealthPassing,
					Output: "Agent alive and reachable"}
			}
		case membership.StatusLeft:
			body = &command.CatalogDeregisterBody{Node: m.Name}
		}
		if body == nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := (catalogWriter{a}).ApplyCatalog(pctx, body); err != nil {
			a.log.Warn("cannot record a member's health", "node", m.Name, "status", m.Status, "error", err)
		}
		cancel()
	}
}

// Members lists the members gossip knows, in /v1/agent/members' shape; an
// agent without gossip lists itself.
func (a *Agent) Members() []any {
	if a.gossip == nil {
		return []any{a.member()}
	}
	var out []any
	for _, m := range a.gossip.Members() {
		out = append(out, map[string]any{
			"Name": m.Name, "Addr": m.Addr, "Port": m.Port, "Tags": m.Tags, "Status": m.StatusCode(),
			"ProtocolMin": m.ProtocolMin, "ProtocolMax": m.ProtocolMax, "ProtocolCur": m.ProtocolCur,
			"DelegateMin": m.DelegateMin, "DelegateMax": m.DelegateMax, "DelegateCur": m.DelegateCur,
		})
	}
	return out
}

// Join, Leave and ForceLeave serve /v1/agent/join|leave|force-leave.
func (a *Agent) Join(addr string) error {
	if a.gossip == nil {
		return &httpapi.StatusError{Code: http.StatusInternalServerError, Err: errors.New("gossip is off on this agent")}
	}
	if _, err := a.gossip.Join([]string{addr}); err != nil {
		return &httpapi.StatusError{Code: http.StatusInternalServerError, Err: err}
	}
	return nil
}

// Leave leaves the gossip pool gracefully and then shuts the agent down,
// as Consul's leave does; the process running the agent ends when Done is
// closed. A server first leaves the Raft voters (leaveRaft); started again,
// it joins as a new voter.
func (a *Agent) Leave() error {
	a.leaving.Store(true)
	if a.host != nil && a.shardsStarted.Load() && !a.cfg.Dev {
		a.leaveRaft()
	}
	if a.gossip != nil {
		if err := a.gossip.Leave(); err != nil {
			return err
		}
	}
	a.leaveOnce.Do(func() { close(a.left) })
	return nil
}

// Done is closed when the agent was asked to leave: its process should shut
// it down and exit.
func (a *Agent) Done() <-chan struct{} { return a.left }

func (a *Agent) ForceLeave(node string, prune bool) error {
	if a.gossip == nil {
		return &httpapi.StatusError{Code: http.StatusInternalServerError, Err: errors.New("gossip is off on this agent")}
	}
	if err := a.gossip.ForceLeave(node, prune); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, membership.ErrUnknownMember) {
			code = http.StatusNotFound
		}
		return &httpapi.StatusError{Code: code, Err: err}
	}
	return nil
}
