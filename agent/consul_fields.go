package agent

import (
	"maps"
	"net"
	"strconv"

	"github.com/heraldhq/herald/version"
)

// Node meta keys a Consul agent adds to its own node: its network segment
// ("" for the default segment, the only one outside Consul Enterprise) and
// the Consul version it runs.
const (
	metaSegmentKey    = "consul-network-segment"
	metaConsulVersion = "consul-version"
)

// nodeMeta is the agent's node meta as it registers it and /v1/agent/self
// shows it: the configured node_meta plus the keys Consul's agent adds.
func (a *Agent) nodeMeta() map[string]string {
	out := maps.Clone(a.cfg.NodeMeta)
	if out == nil {
		out = map[string]string{}
	}
	out[metaSegmentKey] = ""
	out[metaConsulVersion] = version.ConsulCompat
	return out
}

// debugAddrs are the address fields of /v1/agent/self's DebugConfig that
// Consul's clients and tools read (the official Go client's tests join the
// agent at DebugConfig.SerfAdvertiseAddrLAN). They are spelled as Consul's
// sanitized runtime config spells them: an IP as itself, a TCP or UDP
// address as "tcp://host:port" or "udp://host:port".
func (a *Agent) debugAddrs() map[string]any {
	tcp := func(host string, port int) string { return "tcp://" + net.JoinHostPort(host, strconv.Itoa(port)) }
	serfHost, serfPort := a.cfg.AdvertiseAddr, a.cfg.Ports.SerfLAN
	if a.gossip != nil {
		m := a.gossip.LocalMember()
		serfHost, serfPort = m.Addr, m.Port
	}
	wanHost, wanPort := a.cfg.WAN.AdvertiseAddr, a.cfg.Ports.SerfWAN
	if a.wan.gossip != nil {
		m := a.wan.gossip.LocalMember()
		wanHost, wanPort = m.Addr, m.Port
	}
	out := map[string]any{
		"AdvertiseAddrLAN":     a.cfg.AdvertiseAddr,
		"AdvertiseAddrWAN":     a.cfg.WAN.AdvertiseAddr,
		"SerfAdvertiseAddrLAN": tcp(serfHost, serfPort),
		"SerfBindAddrLAN":      tcp(a.cfg.BindAddr, serfPort),
		"SerfAdvertiseAddrWAN": tcp(wanHost, wanPort),
		"SerfBindAddrWAN":      tcp(a.cfg.BindAddr, wanPort),
		"RPCAdvertiseAddr":     tcp(a.cfg.AdvertiseAddr, a.cfg.Ports.Server),
		"RPCBindAddr":          tcp(a.cfg.BindAddr, a.cfg.Ports.Server),
		"SerfPortLAN":          serfPort,
		"SerfPortWAN":          wanPort,
	}
	var httpAddrs []string
	for _, addr := range a.httpAddrs {
		httpAddrs = append(httpAddrs, addr.Network()+"://"+addr.String())
	}
	out["HTTPAddrs"] = httpAddrs
	if len(a.httpAddrs) > 0 {
		if tcp, ok := a.httpAddrs[0].(*net.TCPAddr); ok {
			out["HTTPPort"] = tcp.Port // the bound port, when the configured one was 0
		}
	}
	a.httpsDebugAddrs(out)
	if dns := a.DNSAddr(); dns != "" {
		out["DNSAddrs"] = []string{"tcp://" + dns, "udp://" + dns}
		if _, port, err := net.SplitHostPort(dns); err == nil {
			out["DNSPort"], _ = strconv.Atoi(port)
		}
	} else {
		out["DNSAddrs"] = []string{}
	}
	return out
}
