package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/bench"
	hlog "github.com/heraldhq/herald/log"
)

// cluster is the Herald cluster under test: servers s1..sN and one client
// agent, all processes of their own on this host.
type cluster struct {
	servers []*bench.Herald // replaced in place when a server is restarted
	client  *bench.Herald
	dc      string
	// retired is the CPU time, in clock ticks, of server processes killed
	// during the run: still the benchmark's own, not other people's work.
	retired uint64
}

// all is every Herald process running now.
func (c *cluster) all() []*bench.Herald {
	return append(slices.Clone(c.servers), c.client)
}

// leaders says which servers lead the two shards, as indexes into
// c.servers.
type leaders struct {
	catalog, kv int
}

// led names the shards server i leads: "catalog+kv", "catalog", "kv" or
// "-".
func (l leaders) led(i int) string {
	var s []string
	if l.catalog == i {
		s = append(s, "catalog")
	}
	if l.kv == i {
		s = append(s, "kv")
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, "+")
}

// serverByRaftAddr finds the server whose Raft listener is addr.
func (c *cluster) serverByRaftAddr(addr string) (int, bool) {
	for i, s := range c.servers {
		if s.RaftAddr == addr {
			return i, true
		}
	}
	return -1, false
}

// catalogLeader asks every server for /v1/status/leader (the catalog
// shard's leader) and returns the one they all name.
func (c *cluster) catalogLeader(ctx context.Context) (int, error) {
	var addr string
	for i, s := range c.servers {
		h := bench.NewConsulHTTP(s.HTTPAddr)
		a, err := h.Leader(ctx)
		h.Close()
		switch {
		case err != nil:
			return -1, fmt.Errorf("%s: /v1/status/leader: %w", s.Config.Node, err)
		case a == "":
			return -1, fmt.Errorf("%s knows no leader", s.Config.Node)
		case i > 0 && a != addr:
			return -1, fmt.Errorf("%s names leader %s, %s %s", s.Config.Node, a, c.servers[0].Config.Node, addr)
		}
		addr = a
	}
	i, ok := c.serverByRaftAddr(addr)
	if !ok {
		return -1, fmt.Errorf("the leader %s is none of the servers", addr)
	}
	return i, nil
}

// kvLeader finds the kv shard's leader, which no HTTP endpoint names
// (/v1/status/leader is the catalog shard's): it asks every server, over
// its own NATS port, the question client agents ask the servers (the
// "leader" request of agent/rpc), and maps the replica ID they all answer
// to a server through the replica IDs the servers gossip (tag "rid" in
// /v1/agent/members).
func (c *cluster) kvLeader(ctx context.Context) (int, error) {
	var leader uint64
	for i, s := range c.servers {
		id, err := askKVLeader(s, c.dc)
		switch {
		case err != nil:
			return -1, fmt.Errorf("%s: kv leader: %w", s.Config.Node, err)
		case i > 0 && id != leader:
			return -1, fmt.Errorf("%s names kv leader %x, %s %x", s.Config.Node, id, c.servers[0].Config.Node, leader)
		}
		leader = id
	}
	h := bench.NewConsulHTTP(c.servers[0].HTTPAddr)
	defer h.Close()
	members, err := h.Members(ctx)
	if err != nil {
		return -1, err
	}
	for _, m := range members {
		if replicaID(m) != leader {
			continue
		}
		for i, s := range c.servers {
			if s.Config.Node == m.Name {
				return i, nil
			}
		}
	}
	return -1, fmt.Errorf("the kv leader, replica %x, is none of the servers gossip knows", leader)
}

// askKVLeader asks one server which replica leads the kv shard.
func askKVLeader(s *bench.Herald, dc string) (uint64, error) {
	nc, err := nats.Connect(s.NATSURL(), nats.Name("clusterbench"), nats.Timeout(time.Second), nats.NoReconnect())
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	id, known := rpc.NewClient(nc, dc).Leader(hlog.ShardKV)
	if !known {
		return 0, errors.New("no leader known")
	}
	return id, nil
}

// replicaID is a server's Raft replica ID as it gossips it: the "rid" tag
// (hex), or for a server that does not tag it, the ID derived from its
// node ID as a new server's is.
func replicaID(m bench.Member) uint64 {
	if id, err := strconv.ParseUint(m.Tags["rid"], 16, 64); err == nil && id != 0 {
		return id
	}
	if m.Tags["id"] == "" {
		return 0
	}
	return hlog.ReplicaIDFor(m.Tags["id"])
}

// health checks the cluster once: every process is running; every server
// names the same catalog leader, whose Raft configuration has every server
// as a voter and no other; every server names the same kv leader; every
// server's gossip sees every agent alive; a write through the client
// agent (the value token) reads back from every server and the client
// with their default consistency, so every server's replica of the kv
// shard has caught up. It returns the leaders.
func (c *cluster) health(ctx context.Context, token string) (leaders, error) {
	for _, h := range c.all() {
		if err := h.Alive(); err != nil {
			return leaders{}, err
		}
	}
	var l leaders
	var err error
	if l.catalog, err = c.catalogLeader(ctx); err != nil {
		return l, err
	}
	lh := bench.NewConsulHTTP(c.servers[l.catalog].HTTPAddr)
	defer lh.Close()
	voters, err := lh.RaftServers(ctx)
	if err != nil {
		return l, err
	}
	var got, want []string
	for _, v := range voters {
		if v.Voter {
			got = append(got, v.Address)
		}
	}
	for _, s := range c.servers {
		want = append(want, s.RaftAddr)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return l, fmt.Errorf("voters %v, want %v", got, want)
	}
	if l.kv, err = c.kvLeader(ctx); err != nil {
		return l, err
	}
	for _, s := range c.servers {
		h := bench.NewConsulHTTP(s.HTTPAddr)
		ms, err := h.Members(ctx)
		h.Close()
		if err != nil {
			return l, fmt.Errorf("%s: %w", s.Config.Node, err)
		}
		for _, a := range c.all() {
			if !slices.ContainsFunc(ms, func(m bench.Member) bool { return m.Name == a.Config.Node && m.Status == 1 }) {
				return l, fmt.Errorf("%s's gossip does not see %s alive", s.Config.Node, a.Config.Node)
			}
		}
	}
	kv := bench.NewConsulKV(c.client.HTTPAddr, 1)
	err = kv.Put(ctx, healthKey, []byte(token))
	kv.Close()
	if err != nil {
		return l, fmt.Errorf("write through %s: %w", c.client.Config.Node, err)
	}
	for _, h := range c.all() {
		ch := bench.NewConsulHTTP(h.HTTPAddr)
		v, found, err := ch.KVValue(ctx, healthKey)
		ch.Close()
		if err == nil && (!found || string(v) != token) {
			err = fmt.Errorf("reads %q (found %v), want %q", v, found, token)
		}
		if err != nil {
			return l, fmt.Errorf("%s: %s: %w", h.Config.Node, healthKey, err)
		}
	}
	return l, nil
}

// healthKey is the key health writes and reads back.
const healthKey = "clusterbench/health"

// waitHealthy polls health until the cluster passes it, a process exits,
// or timeout passes; an error shows the end of watch's log (the server
// just restarted, say).
func (c *cluster) waitHealthy(ctx context.Context, watch *bench.Herald, timeout time.Duration) (leaders, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var l leaders
	n := 0
	err := watch.Poll(ctx, timeout, "rejoin a healthy cluster", func(ctx context.Context) error {
		n++
		var err error
		l, err = c.health(ctx, fmt.Sprintf("%d-%d", time.Now().UnixNano(), n))
		return err
	})
	return l, err
}

// pids are the processes' IDs, for the CPU accounting.
func (c *cluster) pids() []int {
	var out []int
	for _, h := range c.all() {
		out = append(out, h.Pid())
	}
	return out
}

// stopAll stops every process given, in parallel.
func stopAll(servers []*bench.Server) {
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop()
		}()
	}
	wg.Wait()
}
