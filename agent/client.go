package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/event"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
	"github.com/heraldhq/herald/watch"
)

// A client agent holds no replica. It finds the servers by gossip, sends
// writes and read barriers to them over their NATS (package rpc), and
// answers every read from projections of its own: loaded from a server's
// snapshot of each shard, then kept current by the shard's event stream,
// and loaded again after a gap. Blocking queries on a client never reach
// the servers.

// clientState is what a client agent keeps of its connection.
type clientState struct {
	rpc     atomic.Pointer[rpc.Client]
	applied [3]atomic.Uint64 // by shard ID: the last index the projections have
	ready   chan struct{}    // closed when both shards are loaded
	loaded  sync.Map         // shard ID -> true

	// leaders caches the servers' answer about each shard's leader: every
	// read answers X-Consul-KnownLeader, and a client's reads must not cost
	// the servers a request each.
	leaderMu sync.Mutex
	leaders  map[command.Shard]cachedLeader
}

type cachedLeader struct {
	id    uint64
	known bool
	at    time.Time
}

// leaderCacheTTL is how long a client trusts the servers' last word on a
// shard's leader.
const leaderCacheTTL = time.Second

// errNoServers is what a client answers before it knows a server.
var errNoServers = hlog.ErrNoServers

// clientRaft is the Raft of a client agent: the servers, through rpc.
type clientRaft struct{ a *Agent }

func (c clientRaft) Propose(ctx context.Context, cmd command.Command) (command.Result, error) {
	shard, err := cmd.Shard()
	if err != nil {
		return command.Result{}, err
	}
	return c.ProposeTo(ctx, shard, cmd)
}

func (c clientRaft) ProposeTo(ctx context.Context, shardID command.Shard, cmd command.Command) (command.Result, error) {
	client := c.a.client.rpc.Load()
	if client == nil {
		return command.Result{}, errNoServers
	}
	res, index, err := client.ProposeTo(ctx, shardID, cmd)
	if err != nil {
		return res, err
	}
	// Read your writes: wait until this agent's copy has the write.
	return res, c.a.waitApplied(ctx, shardID, index)
}

func (c clientRaft) ReadIndex(ctx context.Context, shardID command.Shard) error {
	client := c.a.client.rpc.Load()
	if client == nil {
		return errNoServers
	}
	index, err := client.ReadBarrier(ctx, shardID)
	if err != nil {
		return err
	}
	return c.a.waitApplied(ctx, shardID, index)
}

func (c clientRaft) Leader(shardID command.Shard) (uint64, bool) {
	client := c.a.client.rpc.Load()
	if client == nil {
		return 0, false
	}
	cs := c.a.client
	cs.leaderMu.Lock()
	cached, ok := cs.leaders[shardID]
	cs.leaderMu.Unlock()
	if ok && time.Since(cached.at) < leaderCacheTTL {
		return cached.id, cached.known
	}
	id, known := client.Leader(shardID)
	cs.leaderMu.Lock()
	if cs.leaders == nil {
		cs.leaders = map[command.Shard]cachedLeader{}
	}
	cs.leaders[shardID] = cachedLeader{id: id, known: known, at: time.Now()}
	cs.leaderMu.Unlock()
	return id, known
}

// waitApplied waits until this agent's projections of a shard reach index.
func (a *Agent) waitApplied(ctx context.Context, shardID command.Shard, index uint64) error {
	for a.client.applied[shardID].Load() < index {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: this agent's copy did not reach index %d", hlog.ErrNoLeader, index)
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func (a *Agent) noteApplied(shardID command.Shard, index uint64) {
	for {
		cur := a.client.applied[shardID].Load()
		if index <= cur || a.client.applied[shardID].CompareAndSwap(cur, index) {
			return
		}
	}
}

// startClient runs a client agent.
func (a *Agent) startClient(ctx context.Context) error {
	a.client = &clientState{ready: make(chan struct{})}
	a.raft = clientRaft{a}
	a.newLocal()
	if err := a.startGossip(ctx); err != nil {
		return err
	}
	a.local.Start()
	// User events reach the other agents once the connection to the
	// servers' NATS exists (connectServers); until then they stay here.
	if err := a.startEvents(nil); err != nil {
		return err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.connectServers(ctx)
	}()
	if err := a.registerSelf(); err != nil {
		return err
	}
	if err := a.startDNS(); err != nil {
		return fmt.Errorf("DNS interface: %w", err)
	}
	if err := a.startHTTP(); err != nil {
		return err
	}
	return a.watches.apply(a, a.cfg.Watches)
}

// serverNATS lists the NATS URLs of the alive servers that gossip knows.
func (a *Agent) serverNATS() []string {
	if a.gossip == nil {
		return nil
	}
	var urls []string
	for _, m := range a.gossip.Members() {
		port, _ := strconv.Atoi(m.Tags["nats_port"])
		if m.Status == membership.StatusAlive && m.IsServer() && m.Tags["dc"] == a.cfg.Datacenter && port > 0 {
			urls = append(urls, fmt.Sprintf("nats://%s:%d", m.Addr, port))
		}
	}
	return urls
}

// connectServers waits until gossip knows a server, connects to the
// servers' NATS, and follows every shard.
func (a *Agent) connectServers(ctx context.Context) {
	var nc *nats.Conn
	for nc == nil {
		if urls := a.serverNATS(); len(urls) > 0 {
			conn, err := nats.Connect(strings.Join(urls, ","), nats.Name("herald client "+a.cfg.NodeName), nats.MaxReconnects(-1))
			if err == nil {
				nc = conn
				break
			}
			a.log.Warn("cannot reach the servers' NATS", "urls", urls, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer nc.Close()
	a.client.rpc.Store(rpc.NewClient(nc, a.cfg.Datacenter))
	if err := a.events.Connect(nc); err != nil {
		a.log.Warn("user events stay on this agent", "error", err)
	}
	var wg sync.WaitGroup
	for _, id := range command.Shards() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.followShard(ctx, nc, id)
		}()
	}
	wg.Wait()
}

// followShard keeps the projections of one shard current: a snapshot, then
// the stream after it; a gap or a broken subscription starts over.
func (a *Agent) followShard(ctx context.Context, nc *nats.Conn, shardID command.Shard) {
	var sink statemachine.Sink = catalogSink{a}
	if shardID == command.ShardKV {
		sink = a.kv
	}
	name := shardID.String()
	retry := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
			return true
		}
	}
	reconnected := nc.StatusChanged(nats.CONNECTED) // after a reconnect
	defer nc.RemoveStatusListener(reconnected)
	for ctx.Err() == nil {
		// No deadline for the whole transfer, which a large shard on a
		// loaded machine may need long for: Snapshot gives up by itself
		// when the server stops sending.
		_, data, err := a.client.rpc.Load().Snapshot(ctx, shardID)
		if err != nil {
			a.log.Warn("cannot load a shard from the servers", "shard", name, "error", err)
			if !retry() {
				return
			}
			continue
		}
		index, src, err := statemachine.SnapshotSource(data)
		if err == nil {
			err = sink.Load(index, src)
		}
		if err != nil {
			a.log.Error("cannot load a shard's snapshot", "shard", name, "error", err)
			if !retry() {
				return
			}
			continue
		}
		a.client.applied[shardID].Store(index)
		a.markLoaded(shardID)
		js, err := jetstream.New(nc)
		if err != nil {
			if !retry() {
				return
			}
			continue
		}
		stop, errs, err := watch.Subscribe(ctx, js, a.cfg.Datacenter, name, index+1, func(ev event.Event) error {
			sink.Apply(ev.Index, []event.Event{ev})
			a.noteApplied(shardID, ev.Index)
			return nil
		})
		if err != nil {
			a.log.Warn("cannot follow a shard's events", "shard", name, "error", err)
			if !retry() {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-reconnected:
			// Another server's NATS: its stream holds the same events
			// under other sequence numbers, which the subscription would
			// follow from the wrong place. Start over there.
			stop()
			a.log.Info("connected to another server: loading the shard again", "shard", name)
		case err := <-errs:
			stop()
			if errors.Is(err, watch.ErrGap) {
				a.log.Info("gap in a shard's events: loading it again", "shard", name, "error", err)
			} else if err != nil {
				a.log.Warn("following a shard's events stopped: loading it again", "shard", name, "error", err)
			}
		}
	}
}

func (a *Agent) markLoaded(shardID command.Shard) {
	a.client.loaded.Store(shardID, true)
	n := 0
	a.client.loaded.Range(func(any, any) bool { n++; return true })
	if n == len(command.Shards()) {
		select {
		case <-a.client.ready:
		default:
			close(a.client.ready)
		}
	}
}
