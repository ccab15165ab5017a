package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/watch"
)

// cluster is the Herald cluster under test: servers s1..sN and one client
// agent, all processes of their own on this host.
type cluster struct {
	servers []*bench.Herald // replaced in place when a server is restarted
	client  *bench.Herald
	// more are further client agents, for the watch scenario.
	more []*bench.Herald
	dc   string
	// natsCluster says the servers' NATS servers form one NATS cluster,
	// with the event streams replicated over it.
	natsCluster bool
	// retired is the CPU time, in clock ticks, of server processes killed
	// during the run: still the benchmark's own, not other people's work.
	retired uint64
}

// all is every Herald process running now.
func (c *cluster) all() []*bench.Herald {
	return append(append(slices.Clone(c.servers), c.client), c.more...)
}

// clientAgents is every client agent.
func (c *cluster) clientAgents() []*bench.Herald {
	return append([]*bench.Herald{c.client}, c.more...)
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

// catalogLeader returns the server all servers name as the catalog
// shard's leader.
func (c *cluster) catalogLeader(ctx context.Context) (int, error) {
	return bench.CatalogLeader(ctx, c.servers)
}

// kvLeader returns the server all servers name as the kv shard's leader.
func (c *cluster) kvLeader(ctx context.Context) (int, error) {
	return bench.KVLeader(ctx, c.servers, c.dc)
}

// health checks the cluster once: every process is running; every server
// names the same catalog leader, whose Raft configuration has every server
// as a voter and no other; every server names the same kv leader; every
// server's gossip sees every agent alive; a write through the kv leader
// shows in the client agent's own copy (a stale read); that write and one
// through the client agent (the value token) come out on the event
// stream, whose replicas (with a NATS cluster) are all current; the
// latter reads back from every server and the client with their default
// consistency, so every server's replica of the kv shard has caught up.
// It returns the leaders.
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
	if err := c.streamsHealthy(ctx); err != nil {
		return l, err
	}
	// Writes come out on the event stream (which client agents follow):
	// a subscriber on a server's NATS sees the two writes below.
	nc, err := nats.Connect(c.servers[l.kv].NATSURL(), nats.Name("clusterbench"), nats.Timeout(time.Second), nats.NoReconnect())
	if err != nil {
		return l, fmt.Errorf("%s: NATS: %w", c.servers[l.kv].Config.Node, err)
	}
	defer nc.Close()
	events, err := nc.SubscribeSync(strings.TrimSuffix(watch.StreamSubjects(c.dc, "kv"), ">") + watch.KeyTokens(healthKey))
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		return l, fmt.Errorf("%s: NATS: %w", c.servers[l.kv].Config.Node, err)
	}
	// A write through a server reaches the client's own copy, which it
	// keeps current from the servers' event stream: a stale read on the
	// client, which asks no server, sees it.
	leaderKV := bench.NewConsulKV(c.servers[l.kv].HTTPAddr, 1)
	err = leaderKV.Put(ctx, healthKey, []byte("server-"+token))
	leaderKV.Close()
	if err != nil {
		return l, fmt.Errorf("write through %s: %w", c.servers[l.kv].Config.Node, err)
	}
	ch := bench.NewConsulHTTP(c.client.HTTPAddr)
	defer ch.Close()
	for {
		v, _, err := ch.KVValue(ctx, healthKey, true)
		if err != nil {
			return l, fmt.Errorf("%s: stale read: %w", c.client.Config.Node, err)
		}
		if string(v) == "server-"+token {
			break
		}
		select {
		case <-ctx.Done():
			return l, fmt.Errorf("%s's own copy does not follow the servers' writes (reads %q, want %q)", c.client.Config.Node, v, "server-"+token)
		case <-time.After(10 * time.Millisecond):
		}
	}
	kv := bench.NewConsulKV(c.client.HTTPAddr, 1)
	err = kv.Put(ctx, healthKey, []byte(token))
	kv.Close()
	if err != nil {
		return l, fmt.Errorf("write through %s: %w", c.client.Config.Node, err)
	}
	for i := range 2 {
		if _, err := events.NextMsgWithContext(ctx); err != nil {
			return l, fmt.Errorf("%d of 2 writes came out on the event stream (%s's NATS): %w", i, c.servers[l.kv].Config.Node, err)
		}
	}
	for _, h := range c.all() {
		ch := bench.NewConsulHTTP(h.HTTPAddr)
		v, found, err := ch.KVValue(ctx, healthKey, false)
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

// waitHealthy checks health until the cluster passes it, each try given
// 5 s, giving up when timeout has passed, a process exits or ctx is done;
// an error shows the end of watch's log (the server just restarted, say).
func (c *cluster) waitHealthy(ctx context.Context, watch *bench.Herald, timeout time.Duration) (leaders, error) {
	deadline := time.Now().Add(timeout)
	for n := 1; ; n++ {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		l, err := c.health(tctx, fmt.Sprintf("%d-%d", time.Now().UnixNano(), n))
		cancel()
		if err == nil {
			return l, nil
		}
		for _, h := range c.all() {
			if aerr := h.Alive(); aerr != nil {
				return l, aerr
			}
		}
		if ctx.Err() != nil {
			return l, ctx.Err()
		}
		if time.Now().After(deadline) {
			return l, fmt.Errorf("the cluster was not healthy within %v (last: %v); the end of %s's log:\n%s", timeout, err, watch.Name, watch.Tail(20))
		}
		select {
		case <-ctx.Done():
			return l, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// streamInfo reads the JetStream stream of a shard's events
// (HERALD_<dc>_<shard>, see docs/events.md) through the first server
// whose NATS answers.
func (c *cluster) streamInfo(ctx context.Context, shard string) (*jetstream.StreamInfo, error) {
	var last error
	for _, s := range c.servers {
		if s.Alive() != nil {
			continue
		}
		nc, err := nats.Connect(s.NATSURL(), nats.Name("clusterbench"), nats.Timeout(time.Second), nats.NoReconnect())
		if err != nil {
			last = err
			continue
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, err
		}
		st, err := js.Stream(ctx, watch.StreamName(c.dc, shard))
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", watch.StreamName(c.dc, shard), err)
		}
		return st.Info(ctx)
	}
	return nil, fmt.Errorf("no server's NATS answers (%v)", last)
}

// streamLeader names the server leading the kv shard's event stream when
// the servers' NATS servers form one NATS cluster; "" if it cannot tell.
func (c *cluster) streamLeader(ctx context.Context) string {
	info, err := c.streamInfo(ctx, "kv")
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// streamsHealthy checks, when the servers' NATS servers form one NATS
// cluster, that both shards' event streams have a leader and every
// server's replica is current: else killing a server may leave a stream
// without a quorum, and client agents, which follow the streams, without
// news.
func (c *cluster) streamsHealthy(ctx context.Context) error {
	if !c.natsCluster {
		return nil
	}
	for _, shard := range []string{"catalog", "kv"} {
		info, err := c.streamInfo(ctx, shard)
		if err != nil {
			return err
		}
		cl := info.Cluster
		if cl == nil || cl.Leader == "" {
			return fmt.Errorf("event stream %s has no leader", info.Config.Name)
		}
		current := 1 // the leader
		var behind []string
		for _, r := range cl.Replicas {
			if r.Current && !r.Offline {
				current++
			} else {
				behind = append(behind, r.Name)
			}
		}
		if current < len(c.servers) {
			return fmt.Errorf("event stream %s: %d of %d replicas current (leader %s; not current: %s)",
				info.Config.Name, current, len(c.servers), cl.Leader, strings.Join(behind, " "))
		}
	}
	return nil
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
