package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/dnsserver"
	"github.com/heraldhq/herald/httpapi"
)

// A server joins the servers of every datacenter in the Serf WAN pool, as
// in Consul, and runs a NATS gateway (package wan) that carries requests
// between the datacenters; docs/multi-datacenter.md.

// wanState is what a server has of the WAN: nil members and gateway on a
// client agent, or with ports.serf_wan = -1.
type wanState struct {
	gossip  *membership.Membership
	gateway *wan.Gateway
	stop    []func()
	// dnsConfig is the DNS interface's configuration, from which the
	// answers to another datacenter's query failover are made.
	dnsConfig dnsserver.Config
	// translating answers the queries that ask for WAN addresses
	// (translate_wan_addrs in the asking datacenter).
	translating wanDNS
}

// WANKeyringFile is the WAN pool's keyring in the data dir, Consul's
// serf/remote.keyring.
const WANKeyringFile = "serf/remote.keyring"

// wanReconcileEvery is how often the gateway's remotes are matched with
// the WAN pool's servers.
const wanReconcileEvery = time.Second

// startWAN starts a server's part in the WAN: gateway first (its port is
// gossiped), then the WAN pool and its joins.
func (a *Agent) startWAN(ctx context.Context) error {
	if !a.cfg.Server && !a.cfg.Dev {
		return nil
	}
	// The client agents' requests for any datacenter come through here,
	// /v1/catalog/datacenters among them, WAN or not.
	stop, err := a.serveRelay()
	if err != nil {
		return err
	}
	a.wan.stop = append(a.wan.stop, stop)
	if a.cfg.Dev || a.cfg.Ports.SerfWAN < 0 {
		return nil
	}
	if a.cfg.WAN.GatewayPort >= 0 {
		gw, err := a.startGateway()
		if err != nil {
			return err
		}
		a.wan.gateway = gw
	}
	m, err := a.startWANGossip()
	if err != nil {
		return err
	}
	a.wan.gossip = m
	if gw := a.wan.gateway; gw != nil {
		stop, err := a.serveWAN()
		if err != nil {
			return err
		}
		a.wan.stop = append(a.wan.stop, stop)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.reconcileGateways(ctx)
		}()
	}
	if len(a.cfg.WAN.StartJoin) > 0 {
		if _, err := m.Join(a.cfg.WAN.StartJoin); err != nil {
			return fmt.Errorf("join-wan %v: %w", a.cfg.WAN.StartJoin, err)
		}
	}
	if len(a.cfg.WAN.RetryJoin) > 0 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			err := membership.RetryJoin(ctx, m, a.cfg.WAN.RetryJoin, a.cfg.WAN.RetryInterval, a.cfg.WAN.RetryMax)
			if err != nil && ctx.Err() == nil {
				a.log.Error("retry-join-wan gave up", "addresses", a.cfg.WAN.RetryJoin, "error", err)
			}
		}()
	}
	return nil
}

// startGateway starts the NATS gateway; a port left at its default that
// another process holds is replaced by one the system picks.
func (a *Agent) startGateway() (*wan.Gateway, error) {
	tc, err := a.gatewayTLS()
	if err != nil {
		return nil, err
	}
	cfg := wan.GatewayConfig{Name: wan.GatewayName(a.wanName()), Host: a.cfg.BindAddr, Port: a.cfg.WAN.GatewayPort,
		Advertise: a.cfg.WAN.AdvertiseAddr, Secret: wan.GatewaySecret(a.cfg.Encrypt), TLS: tc, Logger: a.log}
	// Unless ports.nats_gateway chooses one, the system picks the port: the
	// other datacenters learn it from the WAN tags, and NATS reports a
	// taken port only in its log after waiting out its start-up timeout,
	// which agents starting together on one host (Consul's test harness)
	// would race for.
	if !a.cfg.WAN.GatewayPortSet {
		cfg.Port = 0
	}
	gw, err := wan.StartGateway(cfg)
	if err != nil {
		return nil, fmt.Errorf("NATS gateway: %w", err)
	}
	return gw, nil
}

// wanName is this server's name in the WAN pool: Consul's <node>.<dc>.
func (a *Agent) wanName() string { return a.cfg.NodeName + "." + a.cfg.Datacenter }

func (a *Agent) startWANGossip() (*membership.Membership, error) {
	extra := map[string]string{}
	if a.wan.gateway != nil {
		extra[wan.TagGatewayPort] = strconv.Itoa(a.wan.gateway.Port())
	}
	keyring := ""
	if !a.cfg.DisableKeyringFile {
		keyring = filepath.Join(a.dataDir, WANKeyringFile)
	}
	cfg := membership.Config{
		NodeName: a.wanName(), NodeID: a.nodeID, Datacenter: a.cfg.Datacenter, WAN: true,
		BindAddr: a.cfg.BindAddr, Port: a.cfg.Ports.SerfWAN, AdvertiseAddr: a.cfg.WAN.AdvertiseAddr,
		Server: true, ServerPort: a.cfg.Ports.Server, HTTPPort: max(a.cfg.Ports.HTTP, 0), ExtraTags: extra,
		EncryptKey: a.cfg.Encrypt, KeyringPath: keyring,
		PlaintextIncoming: !a.cfg.EncryptVerifyIncoming, PlaintextOutgoing: !a.cfg.EncryptVerifyOutgoing,
		Logger: a.log.With("component", "gossip"),
	}
	m, err := membership.Start(cfg)
	if err != nil && !a.cfg.WAN.SerfPortSet && cfg.Port != 0 {
		a.log.Warn("the Serf WAN port is in use; listening on one the system picks", "port", cfg.Port)
		cfg.Port = 0
		m, err = membership.Start(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("WAN gossip: %w", err)
	}
	return m, nil
}

// reconcileGateways keeps the gateway's remotes those the WAN pool's
// servers gossip.
func (a *Agent) reconcileGateways(ctx context.Context) {
	t := time.NewTicker(wanReconcileEvery)
	defer t.Stop()
	for {
		remotes := map[string]wan.Remote{}
		for _, m := range a.wan.gossip.Members() {
			port, _ := strconv.Atoi(m.Tags[wan.TagGatewayPort])
			// Alive ones only: a failed server's gateway is kept if it was
			// known, and a restart for it would only cost requests.
			if port > 0 && m.Status == membership.StatusAlive {
				remotes[wan.GatewayName(m.Name)] = wan.Remote{Addr: net.JoinHostPort(m.Addr, strconv.Itoa(port)),
					Datacenter: m.Tags[membership.TagDC]}
			}
		}
		if err := a.wan.gateway.SetRemotes(remotes); err != nil {
			a.log.Error("NATS gateway", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Agent) stopWAN() {
	for _, stop := range a.wan.stop {
		stop()
	}
	if a.wan.gossip != nil {
		a.wan.gossip.Shutdown()
	}
	if a.wan.gateway != nil {
		a.wan.gateway.Shutdown()
	}
}

// leaveWAN leaves the WAN pool gracefully, as a server's leave does.
func (a *Agent) leaveWAN() {
	if a.wan.gossip != nil {
		if err := a.wan.gossip.Leave(); err != nil {
			a.log.Warn("leaving the WAN pool", "error", err)
		}
	}
}

// WANMembers lists the WAN pool's members, as /v1/agent/members?wan=1
// does; none on a client agent, as in Consul.
func (a *Agent) WANMembers() []httpapi.Member {
	out := []httpapi.Member{}
	if a.wan.gossip == nil {
		return out
	}
	for _, m := range a.wan.gossip.Members() {
		out = append(out, httpMember(m))
	}
	return out
}

// JoinWAN joins a server of another datacenter (/v1/agent/join?wan=1).
func (a *Agent) JoinWAN(addr string) error {
	if a.wan.gossip == nil {
		if !a.cfg.Server {
			return agenterr.Mark(agenterr.ErrUnavailable, errors.New("Must be a server to join WAN cluster"))
		}
		return agenterr.Mark(agenterr.ErrUnavailable, errors.New("WAN gossip is off on this server (ports.serf_wan = -1)"))
	}
	_, err := a.wan.gossip.Join([]string{addr})
	return err
}

// ForceLeaveWAN moves a failed WAN member, named <node>.<dc>, to left
// (/v1/agent/force-leave/:node?wan=1).
func (a *Agent) ForceLeaveWAN(node string, prune bool) error {
	if a.wan.gossip == nil {
		return errNoGossip
	}
	if err := a.wan.gossip.ForceLeave(node, prune); err != nil {
		if errors.Is(err, membership.ErrUnknownMember) {
			return agenterr.Mark(agenterr.ErrNotFound, err)
		}
		return err
	}
	return nil
}

// forceLeaveWANToo is the WAN half of a plain force-leave on a server: as
// in Consul, the node leaves the WAN pool too, as <node>.<dc> (a name
// with the datacenter already is taken as it is). handled says the node
// was a WAN member.
func (a *Agent) forceLeaveWANToo(node string, prune bool) (handled bool, err error) {
	if a.wan.gossip == nil {
		return false, nil
	}
	name := node
	if !strings.HasSuffix(node, "."+a.cfg.Datacenter) {
		name = node + "." + a.cfg.Datacenter
	}
	for _, cand := range []string{name, node} {
		for _, m := range a.wan.gossip.Members() {
			if m.Name == cand {
				return true, a.wan.gossip.ForceLeave(cand, prune)
			}
		}
	}
	return false, nil
}

// Datacenters lists every datacenter the WAN pool knows, nearest first
// by the median round trip time to its servers that the WAN coordinates
// estimate (then by name, as Consul sorts them); on a client agent, as
// its servers list them.
func (a *Agent) Datacenters(ctx context.Context) ([]string, error) {
	if a.client != nil {
		return a.relayDatacenters(ctx)
	}
	if a.wan.gossip == nil {
		return []string{a.cfg.Datacenter}, nil
	}
	s := a.wan.gossip.Serf()
	self, err := s.GetCoordinate()
	rtts := map[string][]float64{a.cfg.Datacenter: nil}
	for _, m := range a.wan.gossip.Members() {
		dc := m.Tags[membership.TagDC]
		if dc == "" || !m.IsServer() || m.Status == membership.StatusLeft {
			continue
		}
		// As in Consul: this datacenter's servers are at 0, one with no
		// coordinate yet infinitely far.
		rtt := math.Inf(1)
		if dc == a.cfg.Datacenter {
			rtt = 0
		} else if c, ok := s.GetCachedCoordinate(m.Name); ok && err == nil && c.IsCompatibleWith(self) {
			rtt = self.DistanceTo(c).Seconds()
		}
		rtts[dc] = append(rtts[dc], rtt)
	}
	median := map[string]float64{}
	dcs := make([]string, 0, len(rtts))
	for dc, list := range rtts {
		sort.Float64s(list)
		median[dc] = math.Inf(1)
		if len(list) > 0 {
			median[dc] = list[len(list)/2]
		}
		dcs = append(dcs, dc)
	}
	sort.Slice(dcs, func(i, j int) bool {
		if median[dcs[i]] != median[dcs[j]] {
			return median[dcs[i]] < median[dcs[j]]
		}
		return dcs[i] < dcs[j]
	})
	return dcs, nil
}

// WANCoordinates are the WAN servers' coordinates by datacenter, named
// <node>.<dc> as in Consul; nil without a WAN pool.
func (a *Agent) WANCoordinates() map[string][]httpapi.CoordinateEntry {
	if a.wan.gossip == nil {
		return nil
	}
	s := a.wan.gossip.Serf()
	out := map[string][]httpapi.CoordinateEntry{}
	for _, m := range a.wan.gossip.Members() {
		dc := m.Tags[membership.TagDC]
		if !m.IsServer() || m.Status == membership.StatusLeft || dc == "" {
			continue
		}
		c, ok := s.GetCachedCoordinate(m.Name)
		if m.Name == a.wanName() {
			var err error
			c, err = s.GetCoordinate()
			ok = err == nil
		}
		if ok && c != nil {
			out[dc] = append(out[dc], httpapi.CoordinateEntry{Node: m.Name, Coord: c})
		}
	}
	return out
}

// knownDatacenter reports whether the WAN pool has a server of dc.
func (a *Agent) knownDatacenter(dc string) bool {
	for _, m := range a.wan.gossip.Members() {
		if m.Tags[membership.TagDC] == dc && m.IsServer() {
			return true
		}
	}
	return false
}

// linkWait bounds how long a request waits for the gateway to link with a
// server of its datacenter: links form within moments of a WAN join or a
// restart, and a datacenter that is down must be answered "No path to
// datacenter" within a second or two.
const linkWait = 1500 * time.Millisecond

// reachable reports whether the gateway is linked to a server of dc,
// waiting up to linkWait for a link: a request with no path fails then
// rather than at its timeout.
func (a *Agent) reachable(dc string) bool {
	deadline := time.Now().Add(linkWait)
	for {
		if a.linked(dc) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// linked reports whether the gateway is linked to a server of dc now.
func (a *Agent) linked(dc string) bool {
	connected := a.wan.gateway.Linked()
	for _, m := range a.wan.gossip.Members() {
		if m.Tags[membership.TagDC] == dc && m.Status == membership.StatusAlive && connected[wan.GatewayName(m.Name)] {
			return true
		}
	}
	return false
}
