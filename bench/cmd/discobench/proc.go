package main

import (
	"context"
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

// waitReady polls until the agent accepts a write (a leader is elected and
// the log is writable) and its DNS interface answers, giving up at the
// deadline, when the process exits, or when ctx is done.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	kv := bench.NewConsulKV(s.HTTPAddr, 1)
	defer kv.Close()
	return s.WaitWrite(ctx, timeout, kv, "discobench/ready", "accept a write and answer DNS", func(ctx context.Context) error {
		_, err := bench.LookupOnce(ctx, s.DNSAddr, "consul.service.consul", dns.TypeSRV)
		return err
	})
}

// retiredTicks is the CPU time of helper processes discobench started and
// has already stopped (the bare DNS server of -bare=process): their time
// counts as discobench's own, not as other people's work.
var retiredTicks uint64

// snapshotCPU reads the machine's CPU counters, counting discobench, its
// server and its retired helpers as its own.
func snapshotCPU(s *server) (bench.CPUSnapshot, bool) {
	var pids []int
	if s != nil {
		pids = append(pids, s.Pid())
	}
	c, ok := bench.SnapshotCPU(pids...)
	c.Own += retiredTicks
	return c, ok
}
