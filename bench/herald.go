//go:build unix

package bench

import (
	"fmt"
	"path/filepath"
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
	// Dev starts the in-memory `herald agent -dev` instead of a
	// one-server cluster persisting to disk (fsync on).
	Dev bool
	// DNS gives the DNS interface a free port; without it DNS is off.
	DNS bool
	// Extra arguments, appended last.
	Extra []string
}

// Herald is a running Herald agent and where it listens.
type Herald struct {
	*Server
	HTTPAddr string // host:port of the HTTP API
	HTTPPort int
	DNSAddr  string // host:port of the DNS interface (UDP and TCP); "" when off
	NATSAddr string // host:port of the embedded NATS server's client port
}

// NATSURL is the URL NATS clients connect to.
func (h *Herald) NATSURL() string { return "nats://" + h.NATSAddr }

// StartHerald starts `herald agent` with every listener on a free
// loopback port or disabled (Serf WAN and NATS cluster always, DNS unless
// cfg.DNS), so that an agent already running on the default ports neither
// breaks the run nor receives its traffic. It returns once the process
// started; wait for it with Poll.
func StartHerald(cfg HeraldConfig) (*Herald, error) {
	if cfg.Name == "" {
		cfg.Name = "herald"
	}
	var ports [4]int // http, server (Raft/RPC), serf LAN, NATS
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	dnsArg, dnsAddr := "-dns-port=-1", ""
	if cfg.DNS {
		p, err := FreeDNSPort()
		if err != nil {
			return nil, err
		}
		dnsArg, dnsAddr = fmt.Sprintf("-dns-port=%d", p), fmt.Sprintf("127.0.0.1:%d", p)
	}
	args := []string{"agent"}
	if cfg.Dev {
		args = append(args, "-dev")
	} else {
		args = append(args, "-server", "-bootstrap-expect=1", "-data-dir="+filepath.Join(cfg.Dir, cfg.Name+"-data"))
	}
	args = append(args, "-node="+cfg.Node, "-bind=127.0.0.1", "-client=127.0.0.1",
		fmt.Sprintf("-http-port=%d", ports[0]),
		dnsArg,
		fmt.Sprintf("-server-port=%d", ports[1]),
		fmt.Sprintf("-serf-lan-port=%d", ports[2]),
		fmt.Sprintf("-nats-port=%d", ports[3]),
		"-serf-wan-port=-1", "-nats-cluster-port=-1")
	args = append(args, cfg.Extra...)
	s, err := StartServer(cfg.Name, cfg.Dir, cfg.Bin, args...)
	if err != nil {
		return nil, err
	}
	return &Herald{Server: s,
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]), HTTPPort: ports[0],
		DNSAddr:  dnsAddr,
		NATSAddr: fmt.Sprintf("127.0.0.1:%d", ports[3]),
	}, nil
}
