package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/httpapi"
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
		HTTPPort: max(a.cfg.Ports.HTTP, 0), NATSPort: a.natsPort(),
		Bootstrap: a.cfg.Bootstrap || a.cfg.Dev, BootstrapExpect: a.cfg.BootstrapExpect,
		EncryptKey: a.cfg.Encrypt, KeyringPath: a.keyringPath(),
		PlaintextIncoming: !a.cfg.EncryptVerifyIncoming, PlaintextOutgoing: !a.cfg.EncryptVerifyOutgoing,
		Timing: timing, Logger: a.log.With("component", "gossip"),
	})
	if err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	a.gossip = m
	if a.host != nil {
		m.SetTags(map[string]string{leader.TagReplicaID: strconv.FormatUint(a.host.ReplicaID(), 16)})
	}
	if a.shardsStarted.Load() {
		m.SetTags(map[string]string{leader.TagBootstrapped: "1"})
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
			h := leader.MemberHealth{Raft: a.host, Gossip: m, Catalog: a.catalog, Writer: catalogWriter{a},
				NodeName: a.cfg.NodeName, Logger: a.log}
			h.Run(ctx)
		}()
	}
	return nil
}

// keyringPath is where the agent keeps its gossip keyring: Consul's
// serf/local.keyring in the data dir, or nowhere with disable_keyring_file.
// Servers and client agents alike keep one.
func (a *Agent) keyringPath() string {
	if a.cfg.DisableKeyringFile {
		return ""
	}
	return filepath.Join(a.dataDir, membership.KeyringFile)
}

// gossipDebugConfig are the gossip encryption settings in /v1/agent/self's
// DebugConfig, the key hidden as Consul hides it.
func (a *Agent) gossipDebugConfig() map[string]any {
	key := ""
	if a.cfg.Encrypt != "" {
		key = "hidden"
	}
	return map[string]any{"EncryptKey": key, "EncryptVerifyIncoming": a.cfg.EncryptVerifyIncoming,
		"EncryptVerifyOutgoing": a.cfg.EncryptVerifyOutgoing, "DisableKeyringFile": a.cfg.DisableKeyringFile}
}

// gossipStats is the serf_lan section of /v1/agent/self's Stats, which
// `info` prints: Serf's own counters, "encrypted" among them.
func (a *Agent) gossipStats() map[string]string {
	if a.gossip == nil {
		return nil
	}
	return a.gossip.Serf().Stats()
}

// Members lists the members gossip knows, in /v1/agent/members' shape; an
// agent without gossip lists itself.
func (a *Agent) Members() []httpapi.Member {
	if a.gossip == nil {
		return []httpapi.Member{a.member()}
	}
	var out []httpapi.Member
	for _, m := range a.gossip.Members() {
		out = append(out, httpMember(m))
	}
	return out
}

// httpMember is a gossip member in /v1/agent/members' shape.
func httpMember(m membership.Member) httpapi.Member {
	return httpapi.Member{
		Name: m.Name, Addr: m.Addr, Port: m.Port, Tags: m.Tags, Status: m.StatusCode(),
		ProtocolMin: int(m.ProtocolMin), ProtocolMax: int(m.ProtocolMax), ProtocolCur: int(m.ProtocolCur),
		DelegateMin: int(m.DelegateMin), DelegateMax: int(m.DelegateMax), DelegateCur: int(m.DelegateCur),
	}
}

// errNoGossip answers the gossip requests on an agent whose gossip is off.
var errNoGossip = agenterr.Mark(agenterr.ErrUnavailable, errors.New("gossip is off on this agent"))

// Join, Leave and ForceLeave serve /v1/agent/join|leave|force-leave.
func (a *Agent) Join(addr string) error {
	if a.gossip == nil {
		return errNoGossip
	}
	if _, err := a.gossip.Join([]string{addr}); err != nil {
		return err
	}
	return nil
}

// Leave leaves the gossip pool gracefully and then shuts the agent down,
// as Consul's leave does; the process running the agent ends when Done is
// closed. A server first leaves the Raft voters (leader.LeaveVoters); started again,
// it joins as a new voter.
func (a *Agent) Leave() error {
	a.leaving.Store(true)
	if a.host != nil && a.shardsStarted.Load() && !a.cfg.Dev {
		leader.LeaveVoters(a.host, a.dataDir, a.log)
	}
	a.leaveWAN()
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
		return errNoGossip
	}
	wanMember, err := a.forceLeaveWANToo(node, prune)
	if err != nil {
		return err
	}
	if err := a.gossip.ForceLeave(node, prune); err != nil {
		if errors.Is(err, membership.ErrUnknownMember) && wanMember {
			return nil
		}
		if errors.Is(err, membership.ErrUnknownMember) {
			return agenterr.Mark(agenterr.ErrNotFound, err)
		}
		return err
	}
	return nil
}
