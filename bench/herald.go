//go:build unix

package bench

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
)

// HeraldConfig says how to start a Herald agent under test.
type HeraldConfig struct {
	// Bin is the herald binary, Dir the directory for its log
	// (<Name>.log) and data (<Name>-data).
	Bin, Dir string
	// Name labels the process: "herald" if empty.
	Name string
	// Node is the agent's node name.
	Node string
	// Dev starts the in-memory `herald agent -dev` instead of a server
	// persisting to disk (fsync on).
	Dev bool
	// Expect is the server's -bootstrap-expect: 1 (a one-server cluster)
	// if zero.
	Expect int
	// Client starts a client agent (no -server), which keeps its data dir
	// but no replica.
	Client bool
	// Join lists Serf LAN addresses (host:port) to -retry-join, retried
	// every 200ms until one answers.
	Join []string
	// DNS gives the DNS interface a port; without it DNS is off.
	DNS bool
	// Addr is the loopback address every listener binds (-bind and
	// -client): 127.0.0.1 if empty.
	Addr string
	// NATSCluster gives the embedded NATS server's cluster (routes)
	// listener a port, and NATSRoutes lists the other servers' (host:port,
	// as -nats-route); without NATSCluster the listener is off.
	NATSCluster bool
	NATSRoutes  []string
	// Ports are the listeners' ports; those left zero get a free loopback
	// port. StartHerald returns the ports it used in Herald.Config, so that
	// the agent can be started again on them (Restart).
	Ports HeraldPorts
	// Extra arguments, appended last.
	Extra []string
	// Group, if not 0, is the group ID the process runs with (which
	// takes root), so that firewall rules can tell its packets from
	// other agents' on the same host (iptables -m owner --gid-owner):
	// agents on one host dial each other from 127.0.0.1, whatever they
	// bind.
	Group uint32
}

// HeraldPorts are the ports of an agent's listeners.
type HeraldPorts struct {
	HTTP    int
	DNS     int // used only with HeraldConfig.DNS
	Server  int // Raft and server RPC
	SerfLAN int
	NATS    int // the embedded NATS server's client port
	// NATSCluster is its cluster (routes) port, used only with
	// HeraldConfig.NATSCluster.
	NATSCluster int
}

// fill gives every zero port that is used a free one on addr.
func (p *HeraldPorts) fill(addr string, dns, natsCluster bool) error {
	ports := []*int{&p.HTTP, &p.Server, &p.SerfLAN, &p.NATS}
	if natsCluster {
		ports = append(ports, &p.NATSCluster)
	}
	for _, port := range ports {
		if *port != 0 {
			continue
		}
		n, err := FreePortOn(addr)
		if err != nil {
			return err
		}
		*port = n
	}
	if dns && p.DNS == 0 {
		n, err := FreeDNSPortOn(addr)
		if err != nil {
			return err
		}
		p.DNS = n
	}
	return nil
}

// Herald is a running Herald agent and where it listens.
type Herald struct {
	*Server
	// Config is what the agent was started with, its ports filled in.
	Config   HeraldConfig
	HTTPAddr string // host:port of the HTTP API
	HTTPPort int
	DNSAddr  string // host:port of the DNS interface (UDP and TCP); "" when off
	NATSAddr string // host:port of the embedded NATS server's client port
	SerfAddr string // host:port of Serf LAN, what others -retry-join
	RaftAddr string // host:port of Raft, as /v1/status/leader names a server
	// NATSClusterAddr is host:port of the NATS cluster listener, what
	// other servers route to; "" when off.
	NATSClusterAddr string
}

// NATSURL is the URL NATS clients connect to.
func (h *Herald) NATSURL() string { return "nats://" + h.NATSAddr }

// heraldArgs are the arguments of `herald agent` for cfg, whose ports are
// filled in.
func heraldArgs(cfg HeraldConfig) ([]string, error) {
	args := []string{"agent"}
	switch {
	case cfg.Dev && (cfg.Client || cfg.Expect > 1 || len(cfg.Join) > 0):
		return nil, errors.New("a -dev agent is alone: no client, -bootstrap-expect or -retry-join")
	case cfg.Dev:
		args = append(args, "-dev")
	case cfg.Client:
		args = append(args, "-data-dir="+filepath.Join(cfg.Dir, cfg.Name+"-data"))
	default:
		args = append(args, "-server", fmt.Sprintf("-bootstrap-expect=%d", max(cfg.Expect, 1)),
			"-data-dir="+filepath.Join(cfg.Dir, cfg.Name+"-data"))
	}
	dnsArg := "-dns-port=-1"
	if cfg.DNS {
		dnsArg = fmt.Sprintf("-dns-port=%d", cfg.Ports.DNS)
	}
	natsClusterArg := "-nats-cluster-port=-1"
	if cfg.NATSCluster {
		natsClusterArg = fmt.Sprintf("-nats-cluster-port=%d", cfg.Ports.NATSCluster)
	}
	args = append(args, "-node="+cfg.Node, "-bind="+cfg.Addr, "-client="+cfg.Addr,
		fmt.Sprintf("-http-port=%d", cfg.Ports.HTTP),
		dnsArg,
		fmt.Sprintf("-server-port=%d", cfg.Ports.Server),
		fmt.Sprintf("-serf-lan-port=%d", cfg.Ports.SerfLAN),
		fmt.Sprintf("-nats-port=%d", cfg.Ports.NATS),
		"-serf-wan-port=-1", natsClusterArg)
	for _, r := range cfg.NATSRoutes {
		args = append(args, "-nats-route="+r)
	}
	for _, addr := range cfg.Join {
		args = append(args, "-retry-join="+addr)
	}
	if len(cfg.Join) > 0 {
		args = append(args, "-retry-interval=200ms")
	}
	return append(args, cfg.Extra...), nil
}

// StartHerald starts `herald agent` with every listener on a free
// loopback port (or the one cfg.Ports gives) or disabled (Serf WAN always,
// DNS unless cfg.DNS, NATS cluster unless cfg.NATSCluster), so that an
// agent already running on the default ports neither breaks the run nor
// receives its traffic. It returns once the process started; wait for it
// with Poll.
func StartHerald(cfg HeraldConfig) (*Herald, error) {
	if cfg.Name == "" {
		cfg.Name = "herald"
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1"
	}
	if err := cfg.Ports.fill(cfg.Addr, cfg.DNS, cfg.NATSCluster); err != nil {
		return nil, err
	}
	args, err := heraldArgs(cfg)
	if err != nil {
		return nil, err
	}
	s, err := startServer(cfg.Name, cfg.Dir, cfg.Bin, cfg.Group, args)
	if err != nil {
		return nil, err
	}
	at := func(port int) string { return net.JoinHostPort(cfg.Addr, strconv.Itoa(port)) }
	h := &Herald{Server: s, Config: cfg,
		HTTPAddr: at(cfg.Ports.HTTP), HTTPPort: cfg.Ports.HTTP,
		NATSAddr: at(cfg.Ports.NATS),
		SerfAddr: at(cfg.Ports.SerfLAN),
		RaftAddr: at(cfg.Ports.Server),
	}
	if cfg.DNS {
		h.DNSAddr = at(cfg.Ports.DNS)
	}
	if cfg.NATSCluster {
		h.NATSClusterAddr = at(cfg.Ports.NATSCluster)
	}
	return h, nil
}

// Restart starts the agent again, after it exited (Kill), with the same
// arguments: same ports, same data dir, its log continued. The Herald it
// returns replaces h.
func (h *Herald) Restart() (*Herald, error) {
	if err := h.Alive(); err == nil {
		return nil, fmt.Errorf("%s is still running", h.Name)
	}
	return StartHerald(h.Config)
}
