package main

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldhq/herald/bench"
	"github.com/miekg/dns"
)

// server is the Herald agent under test (see bench.Herald: a child process
// in its own process group, so that Ctrl+C reaches only discobench, which
// then stops it; its output in a log file shown if it fails).
type server struct {
	*bench.Herald
}

// agentNode is the agent's own node name, apart from the n0, n1, ... nodes
// the scenarios register through the catalog: the agent's anti-entropy
// owns its node and would remove services registered there by others.
const agentNode = "discobench-agent"

// startHerald starts a one-server Herald persisting to a data dir under
// dir (fsync on) with every listener, DNS included, on a free loopback
// port or disabled, so that an agent already running on the default ports
// neither breaks the run nor receives its traffic.
func startHerald(bin, dir string, extra []string) (*server, error) {
	h, err := bench.StartHerald(bench.HeraldConfig{Bin: bin, Dir: dir, Node: agentNode, DNS: true, Extra: extra})
	if err != nil {
		return nil, err
	}
	return &server{h}, nil
}

// peer is a server the dns, health and register scenarios measure:
// Herald, and Consul beside it when its binary was found.
type peer struct {
	name     string // "herald" or "consul": the target column
	srv      *bench.Server
	httpAddr string // host:port
	httpPort int
	dnsAddr  string // host:port; "" without DNS
}

func (s *server) peer() *peer {
	return &peer{name: "herald", srv: s.Server, httpAddr: s.HTTPAddr, httpPort: s.HTTPPort, dnsAddr: s.DNSAddr}
}

func consulPeer(c *bench.Consul) *peer {
	return &peer{name: "consul", srv: c.Server, httpAddr: c.HTTPAddr, httpPort: c.HTTPPort, dnsAddr: c.DNSAddr}
}

// consulExtra are the arguments Consul gets beyond bench.StartConsul's:
// with the watch scenario, room for its watchers, all from 127.0.0.1,
// where Consul's default admits 200 HTTP connections per client address
// (limits.http_max_conns_per_client) and refuses the rest. Consul refuses
// to start with a limit near its open-file limit, openFiles, which it
// inherits; bench.ConnCap keeps as many descriptors spare, so the watchers
// that run fit.
func consulExtra(o options, openFiles uint64) []string {
	if _, ok := o.scenarios["watch"]; !ok {
		return nil
	}
	conns := o.watchers + consulSpareConns
	if openFiles > 0 {
		conns = min(conns, int(openFiles)-bench.FDReserve+consulSpareConns)
	}
	return []string{fmt.Sprintf("-hcl=limits { http_max_conns_per_client = %d }", conns)}
}

// consulSpareConns are connections Consul admits beside the watchers':
// the fan-out's probes and change, discobench's other clients.
const consulSpareConns = 64

// waitReady polls until p accepts a write (a leader is elected and the
// log is writable) and, if it has DNS, its DNS interface answers, giving
// up at the deadline, when the process exits, or when ctx is done.
func (p *peer) waitReady(ctx context.Context, timeout time.Duration) error {
	kv := bench.NewConsulKV(p.httpAddr, 1)
	defer kv.Close()
	var also func(context.Context) error
	what := "accept a write"
	if p.dnsAddr != "" {
		what += " and answer DNS"
		also = func(ctx context.Context) error {
			_, err := bench.LookupOnce(ctx, p.dnsAddr, "consul.service.consul", dns.TypeSRV)
			return err
		}
	}
	return p.srv.WaitWrite(ctx, timeout, kv, "discobench/ready", what, also)
}

// alive returns the first error of a server that has exited.
func alive(peers []*peer) error {
	for _, p := range peers {
		if err := p.srv.Alive(); err != nil {
			return err
		}
	}
	return nil
}

// retiredTicks is the CPU time of helper processes discobench started and
// has already stopped (the bare DNS server of -bare=process): their time
// counts as discobench's own, not as other people's work.
var retiredTicks uint64

// snapshotCPU reads the machine's CPU counters, counting discobench, its
// servers and its retired helpers as its own.
func snapshotCPU(peers []*peer) (bench.CPUSnapshot, bool) {
	var pids []int
	for _, p := range peers {
		pids = append(pids, p.srv.Pid())
	}
	c, ok := bench.SnapshotCPU(pids...)
	c.Own += retiredTicks
	return c, ok
}
