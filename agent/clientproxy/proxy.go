package clientproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/event"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
	"github.com/heraldhq/herald/watch"
)

// Config is what a Proxy needs of its agent.
type Config struct {
	Datacenter string
	NodeName   string // names the NATS connection

	// RecordOrigin gates the origin of the commands this agent sends
	// (command.Requests.SetRecordOrigin); nil records it always.
	RecordOrigin func() bool

	// Servers lists the NATS URLs of the alive servers of the datacenter
	// (from gossip); it is asked again until it lists one.
	Servers func() []string
	// Sinks take each shard's state: a snapshot's, then its events.
	Sinks map[command.Shard]statemachine.Sink
	// Connected, if set, is given the connection to the servers' NATS
	// once it exists (the user events go over it).
	Connected func(*nats.Conn)
	// NATSOptions are added to the connection's options: TLS, when the
	// servers' NATS uses it, and the agent's credentials, when ACLs are
	// enabled.
	NATSOptions []nats.Option
	Logger      *slog.Logger
}

// Proxy is the Raft of a client agent: the servers, through rpc. Its
// methods are those of httpapi.Raft.
type Proxy struct {
	cfg Config
	rpc atomic.Pointer[rpc.Client]
	// applied is, by shard, the last index the projections have; made
	// with every shard in New and never changed after.
	applied map[command.Shard]*atomic.Uint64
	// stuck is, by shard, where a caller that has waited too long for the
	// copy to reach an index asks for the shard to be loaded again
	// (waitApplied); made in New, one slot each.
	stuck map[command.Shard]chan struct{}
	// loadedAt is, by shard, when it was last loaded (UnixNano): a wait
	// counts as stuck only once the current subscription is older than
	// stuckWait too, so that a slow load is not started over and over.
	loadedAt map[command.Shard]*atomic.Int64
	ready    chan struct{} // closed when every shard is loaded
	loaded   sync.Map      // shard ID -> true

	// leaders caches the servers' answer about each shard's leader: every
	// read answers X-Consul-KnownLeader, and a client's reads must not cost
	// the servers a request each.
	leaderMu sync.Mutex
	leaders  map[command.Shard]cachedLeader
}

// New prepares a proxy; Run connects it.
func New(cfg Config) *Proxy {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Proxy{cfg: cfg, ready: make(chan struct{}), applied: map[command.Shard]*atomic.Uint64{},
		stuck: map[command.Shard]chan struct{}{}, loadedAt: map[command.Shard]*atomic.Int64{}}
	for _, id := range command.Shards() {
		p.applied[id] = new(atomic.Uint64)
		p.stuck[id] = make(chan struct{}, 1)
		p.loadedAt[id] = new(atomic.Int64)
	}
	return p
}

// Ready is closed once every shard has been loaded from the servers.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// LeaderAddress is what the servers last said of the catalog shard
// leader's address; "" before a server is known.
func (p *Proxy) LeaderAddress() string {
	if c := p.rpc.Load(); c != nil {
		return c.LeaderAddress()
	}
	return ""
}

type cachedLeader struct {
	id    uint64
	known bool
	at    time.Time
}

// leaderCacheTTL is how long a client trusts the servers' last word on a
// shard's leader.
const leaderCacheTTL = time.Second

func (p *Proxy) Propose(ctx context.Context, cmd command.Command) (command.Result, error) {
	shard, err := cmd.Shard()
	if err != nil {
		return command.Result{}, err
	}
	return p.ProposeTo(ctx, shard, cmd)
}

func (p *Proxy) ProposeTo(ctx context.Context, shardID command.Shard, cmd command.Command) (command.Result, error) {
	client := p.rpc.Load()
	if client == nil {
		return command.Result{}, hlog.ErrNoServers
	}
	res, index, err := client.ProposeTo(ctx, shardID, cmd)
	if err != nil {
		return res, err
	}
	// Read your writes: wait until this agent's copy has the write.
	return res, p.waitApplied(ctx, shardID, index)
}

func (p *Proxy) ReadIndex(ctx context.Context, shardID command.Shard) error {
	client := p.rpc.Load()
	if client == nil {
		return hlog.ErrNoServers
	}
	index, err := client.ReadBarrier(ctx, shardID)
	if err != nil {
		return err
	}
	return p.waitApplied(ctx, shardID, index)
}

func (p *Proxy) Leader(shardID command.Shard) (uint64, bool) {
	client := p.rpc.Load()
	if client == nil {
		return 0, false
	}
	p.leaderMu.Lock()
	cached, ok := p.leaders[shardID]
	p.leaderMu.Unlock()
	if ok && time.Since(cached.at) < leaderCacheTTL {
		return cached.id, cached.known
	}
	id, known := client.Leader(shardID)
	p.leaderMu.Lock()
	if p.leaders == nil {
		p.leaders = map[command.Shard]cachedLeader{}
	}
	p.leaders[shardID] = cachedLeader{id: id, known: known, at: time.Now()}
	p.leaderMu.Unlock()
	return id, known
}

// waitApplied waits until this agent's projections of a shard reach index.
//
// The index was applied on a server when the wait starts, so its events
// are normally here within milliseconds; a wait past stuckWait asks for
// the shard to be loaded again (followShard), as the stream may have
// stopped delivering without an error.
func (p *Proxy) waitApplied(ctx context.Context, shardID command.Shard, index uint64) error {
	since := time.Now()
	for p.applied[shardID].Load() < index {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: this agent's copy did not reach index %d", hlog.ErrNoLeader, index)
		case <-time.After(2 * time.Millisecond):
		}
		if loaded := time.Unix(0, p.loadedAt[shardID].Load()); loaded.After(since) {
			since = loaded
		}
		if time.Since(since) > stuckWait {
			since = time.Now()
			select {
			case p.stuck[shardID] <- struct{}{}:
			default: // already asked
			}
		}
	}
	return nil
}

// stuckWait is how long a caller waits for this agent's copy of a shard to
// reach an index the servers have applied before asking for a reload.
const stuckWait = 5 * time.Second

func (p *Proxy) noteApplied(shardID command.Shard, index uint64) {
	for {
		cur := p.applied[shardID].Load()
		if index <= cur || p.applied[shardID].CompareAndSwap(cur, index) {
			return
		}
	}
}

// Run waits until a server is known, connects to the servers' NATS, and
// follows every shard, until ctx ends.
func (p *Proxy) Run(ctx context.Context) {
	var nc *nats.Conn
	for nc == nil {
		if urls := p.cfg.Servers(); len(urls) > 0 {
			opts := append([]nats.Option{nats.Name("herald client " + p.cfg.NodeName), nats.MaxReconnects(-1)}, p.cfg.NATSOptions...)
			conn, err := nats.Connect(strings.Join(urls, ","), opts...)
			if err == nil {
				nc = conn
				break
			}
			p.cfg.Logger.Warn("cannot reach the servers' NATS", "urls", urls, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer nc.Close()
	client := rpc.NewClient(nc, p.cfg.Datacenter)
	client.Requests().SetNode(p.cfg.NodeName)
	client.Requests().SetRecordOrigin(p.cfg.RecordOrigin)
	p.rpc.Store(client)
	if p.cfg.Connected != nil {
		p.cfg.Connected(nc)
	}
	var wg sync.WaitGroup
	for _, id := range command.Shards() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.followShard(ctx, nc, id)
		}()
	}
	wg.Wait()
}

// followShard keeps the projections of one shard current: a snapshot, then
// the stream after it; a gap or a broken subscription starts over.
func (p *Proxy) followShard(ctx context.Context, nc *nats.Conn, shardID command.Shard) {
	sink := p.cfg.Sinks[shardID]
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
		_, data, err := p.rpc.Load().Snapshot(ctx, shardID)
		if err != nil {
			p.cfg.Logger.Warn("cannot load a shard from the servers", "shard", name, "error", err)
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
			p.cfg.Logger.Error("cannot load a shard's snapshot", "shard", name, "error", err)
			if !retry() {
				return
			}
			continue
		}
		p.applied[shardID].Store(index)
		p.loadedAt[shardID].Store(time.Now().UnixNano())
		select {
		case <-p.stuck[shardID]: // asked of the copy just replaced
		default:
		}
		p.markLoaded(shardID)
		js, err := jetstream.New(nc)
		if err != nil {
			if !retry() {
				return
			}
			continue
		}
		stop, errs, err := watch.Subscribe(ctx, js, p.cfg.Datacenter, name, index+1, func(ev event.Event) error {
			sink.Apply(ev.Index, []event.Event{ev})
			p.noteApplied(shardID, ev.Index)
			return nil
		})
		if err != nil {
			p.cfg.Logger.Warn("cannot follow a shard's events", "shard", name, "error", err)
			if !retry() {
				return
			}
			continue
		}
		subCtx, endWatch := context.WithCancel(ctx)
		stalled := p.watchProgress(subCtx, shardID)
		select {
		case <-ctx.Done():
			endWatch()
			stop()
			return
		case <-p.stuck[shardID]:
			stop()
			p.cfg.Logger.Warn("a write or a read barrier waited on this agent's copy of a shard: loading it again", "shard", name,
				"applied", p.applied[shardID].Load())
		case <-stalled:
			stop()
			p.cfg.Logger.Warn("a shard's events stopped arriving: loading it again", "shard", name,
				"applied", p.applied[shardID].Load())
		case <-reconnected:
			// Another server's NATS: its stream holds the same events
			// under other sequence numbers, which the subscription would
			// follow from the wrong place. Start over there.
			stop()
			p.cfg.Logger.Info("connected to another server: loading the shard again", "shard", name)
		case err := <-errs:
			stop()
			if errors.Is(err, watch.ErrGap) {
				p.cfg.Logger.Info("gap in a shard's events: loading it again", "shard", name, "error", err)
			} else if err != nil {
				p.cfg.Logger.Warn("following a shard's events stopped: loading it again", "shard", name, "error", err)
			}
		}
		endWatch()
	}
}

// progressCheck is how often a client agent compares its copy of a shard
// with the servers'.
const progressCheck = 15 * time.Second

// watchProgress closes the returned channel when this agent's copy of a
// shard has not reached, one check later, the index the servers had
// applied at the check before: events arrive within milliseconds of their
// apply, so the subscription has stopped delivering without an error
// (seen under heavy load: a client agent's writes waited on its copy for
// minutes, and a revoked token kept working there). The caller then loads
// the shard again, as after a gap.
func (p *Proxy) watchProgress(ctx context.Context, shardID command.Shard) <-chan struct{} {
	stalled := make(chan struct{})
	go func() {
		var behind uint64 // the servers' index at the last check, when ahead of this copy
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(progressCheck):
			}
			if behind != 0 && p.applied[shardID].Load() < behind {
				close(stalled)
				return
			}
			behind = 0
			client := p.rpc.Load()
			if client == nil {
				continue
			}
			askCtx, cancel := context.WithTimeout(ctx, progressCheck)
			index, err := client.ReadBarrier(askCtx, shardID)
			cancel()
			if err == nil && p.applied[shardID].Load() < index {
				behind = index
			}
		}
	}()
	return stalled
}

func (p *Proxy) markLoaded(shardID command.Shard) {
	p.loaded.Store(shardID, true)
	n := 0
	p.loaded.Range(func(any, any) bool { n++; return true })
	if n == len(command.Shards()) {
		select {
		case <-p.ready:
		default:
			close(p.ready)
		}
	}
}
