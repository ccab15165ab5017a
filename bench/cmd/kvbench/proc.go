package main

import (
	"context"
	"time"

	"github.com/heraldhq/herald/bench"
)

// server is a child process under test (see bench.Server: its own process
// group, so that Ctrl+C reaches only kvbench, which then stops it in
// order; its output in a log file shown if it fails) and the address of
// its client API.
type server struct {
	*bench.Server
	addr string // host:port of its client API
}

// startEtcd starts a one-member etcd with its data in dir, on free loopback
// ports, with etcd's default durability (fsync on every commit).
func startEtcd(bin, dir string) (*server, error) {
	members, err := bench.StartEtcd(bin, dir, 1)
	if err != nil {
		return nil, err
	}
	return &server{Server: members[0].Server, addr: members[0].ClientAddr}, nil
}

// startHerald starts a Herald agent on free loopback ports: a one-server
// cluster persisting to a data dir under dir (fsync on, like etcd), or with
// dev set, the in-memory -dev agent. Every listener gets a free port or is
// disabled (DNS included), so that a Herald or Consul already running on
// the default ports neither breaks the run nor receives its traffic.
func startHerald(name, bin, dir string, dev bool, extra []string) (*server, error) {
	h, err := bench.StartHerald(bench.HeraldConfig{Bin: bin, Dir: dir, Name: name, Node: "n1", Dev: dev, Extra: extra})
	if err != nil {
		return nil, err
	}
	return &server{Server: h.Server, addr: h.HTTPAddr}, nil
}

// waitReady polls with a write until the server accepts one, which for
// both servers means a leader is elected and the log is writable. It gives
// up after timeout, when the process exits, or when ctx is done.
func (s *server) waitReady(ctx context.Context, t bench.Target, timeout time.Duration) error {
	return s.WaitWrite(ctx, timeout, t, "bench/ready", "accept a write", nil)
}
