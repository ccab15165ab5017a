package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/clientproxy"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/agent/local"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/agent/monitor"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/agent/userevent"
	"github.com/heraldhq/herald/dnsserver"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
	"github.com/heraldhq/herald/statemachine"
	"github.com/heraldhq/herald/telemetry"
	"github.com/heraldhq/herald/watch"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Agent is one running Herald agent.
type Agent struct {
	cfg     *config.Config
	log     *slog.Logger
	dataDir string
	tempDir bool // dataDir is ours to remove at shutdown (-dev)
	nodeID  string

	// natsClusterPort is the port the NATS routes listener is bound to;
	// 0 when this server's NATS is not in a cluster.
	natsClusterPort int
	// clientNATS is a client agent's connection to the servers' NATS,
	// once it has one.
	clientNATS atomic.Pointer[nats.Conn]

	natsServer *watch.EmbeddedServer
	natsConn   *nats.Conn
	natsACL    natsACL            // natsacl.go
	aclRemote  *remoteResolver    // acldown.go; nil outside a secondary datacenter
	host       *hlog.Host         // nil on a client agent
	raft       httpapi.Raft       // the host, or the servers through rpc on a client
	client     *clientproxy.Proxy // nil on a server
	shards     map[command.Shard]*statemachine.StateMachine
	kv         *projections.KV
	catalog    *projections.Catalog
	connectCA  *projections.ConnectCA // fed with the catalog shard (connectca.go)
	// configEntries are the service mesh's config entries (catalog shard).
	configEntries *projections.ConfigEntries
	acl           *projections.ACL // fed with the system shard (acl.go)
	local         *local.State
	events        *userevent.Buffer
	// reloadConfig reads the configuration again for a reload; nil means
	// there is nothing to re-read (tests).
	reloadConfig func() (*config.Config, error)

	dns         *dnsserver.Server
	api         *httpapi.Server
	httpServers []*http.Server
	httpAddrs   []net.Addr
	httpsAddrs  []net.Addr // tls.go

	watches watches
	stopRPC func()
	// shardsOnce starts the shards once: at start, or when a new
	// cluster's servers have found each other.
	shardsOnce    sync.Once
	shardsErr     error
	shardsStarted atomic.Bool

	left      chan struct{} // closed by Leave
	leaveOnce sync.Once
	leaving   atomic.Bool
	// restart is closed when this server must start over (cluster.go).
	restart     chan struct{}
	restartOnce sync.Once
	gossip      *membership.Membership
	wan         wanState      // wan.go
	ops         operatorState // operator_api.go

	// Observability (observability.go): the log's subscribers, the
	// metrics registry and the ACL tokens.
	monitor *monitor.Handler
	metrics *telemetry.Registry
	tokens  *tokens.Store

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	// originReadable latches once every server reads the origin of a
	// command (audit.go).
	originReadable atomic.Bool
	// aclEnforce is what ACL enforcement needs (acl_enforce.go).
	aclEnforce aclEnforcement
	// kvReplicators run the kv_replication blocks (kvrep.go).
	kvReplicators []*kvReplicator
}

// New prepares an agent; Start runs it.
func New(cfg *config.Config, logger *slog.Logger) *Agent {
	if logger == nil {
		logger = slog.Default()
	}
	mon := monitor.New(logger.Handler())
	a := &Agent{cfg: cfg, log: slog.New(mon), monitor: mon, shards: map[command.Shard]*statemachine.StateMachine{},
		kv: projections.NewKV(), catalog: projections.NewCatalog(), left: make(chan struct{}), restart: make(chan struct{}),
		connectCA: projections.NewConnectCA(), configEntries: projections.NewConfigEntries()}
	a.acl = a.newACLProjection()
	return a
}

// SetReload tells the agent how to read its configuration again, for
// SIGHUP, `herald reload` and /v1/agent/reload.
func (a *Agent) SetReload(load func() (*config.Config, error)) { a.reloadConfig = load }

func nowNano() int64 { return time.Now().UnixNano() }

// Start brings the agent up: state, Raft shards, NATS and the event
// publishers, then the HTTP API. On error everything started is stopped.
func (a *Agent) Start() (err error) {
	defer func() {
		if err != nil {
			a.Shutdown()
		}
	}()
	if err := a.prepareDataDir(); err != nil {
		return err
	}
	a.wireACL()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if err := a.startObservability(ctx); err != nil {
		return err
	}
	if !a.cfg.Dev && !a.cfg.Server {
		return a.startClient(ctx)
	}

	if err := a.startNATS(); err != nil {
		return err
	}
	// The local state exists before the shards open: opening the catalog
	// shard loads the catalog and tells the local state to resync.
	a.newLocal()
	if err := a.startRaft(); err != nil {
		return err
	}
	a.startPublishers(ctx)
	if err := a.startRPC(); err != nil {
		return fmt.Errorf("server RPC: %w", err)
	}
	if err := a.startGossip(ctx); err != nil {
		return err
	}
	if err := a.startWAN(ctx); err != nil {
		return err
	}
	a.startKVReplication(ctx)
	a.startConfigReplication(ctx)
	if a.cfg.Server && !a.cfg.Dev {
		if err := a.startClustered(ctx); err != nil {
			return err
		}
		if a.gossip != nil {
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.autopilot().Run(ctx)
			}()
		}
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		r := leader.SessionReaper{Raft: a.host, Sessions: a.kv, Catalog: a.catalog, Logger: a.log}
		r.Run(ctx)
	}()
	a.startQueryReaper(ctx)
	a.startConnectCA(ctx)
	a.startConfigEntries(ctx)
	a.startACLInit(ctx)
	a.startTokenReaper(ctx)
	a.startACLReplication(ctx)
	a.local.Start()
	if err := a.startEvents(a.natsConn); err != nil {
		return err
	}
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

// newLocal creates the agent's own services-and-checks state; once
// started, it syncs itself into the catalog whenever there is a leader.
func (a *Agent) newLocal() {
	// "wan" is where the other datacenters reach the node
	// (advertise_addr_wan, default advertise_addr), as in Consul.
	tagged := map[string]string{"lan": a.cfg.AdvertiseAddr, "lan_ipv4": a.cfg.AdvertiseAddr,
		"wan": a.cfg.WAN.AdvertiseAddr, "wan_ipv4": a.cfg.WAN.AdvertiseAddr}
	a.local = local.New(local.Config{
		NodeName: a.cfg.NodeName, NodeID: a.nodeID, Address: a.cfg.AdvertiseAddr, Datacenter: a.cfg.Datacenter,
		NodeMeta: a.nodeMeta(), TaggedAddresses: tagged, Writer: catalogWriter{a},
		EnableScriptChecks: a.cfg.EnableScriptChecks, EnableLocalScriptChecks: a.cfg.EnableLocalScriptChecks,
		Alias:  aliasSource{a.catalog, a.cfg.NodeName},
		Logger: a.log, SidecarMinPort: a.cfg.Ports.SidecarMin, SidecarMaxPort: a.cfg.Ports.SidecarMax,
	})
}

func (a *Agent) prepareDataDir() error {
	if a.cfg.Dev {
		dir, err := os.MkdirTemp("", "herald-dev-")
		if err != nil {
			return err
		}
		a.dataDir, a.tempDir = dir, true
	} else {
		a.dataDir = a.cfg.DataDir
		if err := os.MkdirAll(a.dataDir, 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	id, err := a.loadNodeID()
	if err != nil {
		return err
	}
	a.nodeID = id
	marker := filepath.Join(a.dataDir, leader.RejoinMarker)
	if reason, err := os.ReadFile(marker); err == nil {
		a.log.Warn("clearing the Raft state to join the cluster as a new voter", "why", strings.TrimSpace(string(reason)))
		if err := leader.ResetRaftState(a.dataDir); err != nil {
			return fmt.Errorf("clear the Raft state: %w", err)
		}
		return os.Remove(marker)
	}
	return nil
}

// loadNodeID returns the configured node ID, or the one saved in the data
// dir, or a new random one that it saves: a node keeps its ID across
// restarts, as in Consul.
func (a *Agent) loadNodeID() (string, error) {
	if a.cfg.NodeID != "" {
		return a.cfg.NodeID, nil
	}
	path := filepath.Join(a.dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	id := event.NewUUID()
	return id, os.WriteFile(path, []byte(id), 0o600)
}

func (a *Agent) startNATS() error {
	url := a.cfg.NATSURL
	if url == "" && a.cfg.Ports.NATS >= 0 {
		srv, err := a.startEmbeddedNATS()
		if err != nil {
			return err
		}
		a.natsServer = srv
		url = srv.ClientURL()
	}
	if url == "" {
		a.log.Warn("no NATS: the event stream is off (ports.nats = -1 and no nats_url)")
		return nil
	}
	opts, err := a.natsTLSOptions()
	if err != nil {
		return err
	}
	opts = append(opts, a.natsOwnOptions()...)
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name("herald " + a.cfg.NodeName), nats.MaxReconnects(-1)}, opts...)...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	a.natsConn = nc
	return nil
}

// natsPortAttempts bounds how often startEmbeddedNATS picks new ports: a
// port the system just handed out can be taken by another process before
// NATS binds it, when many agents start at once.
const natsPortAttempts = 5

// startEmbeddedNATS starts this agent's NATS server. A port left at its
// default (config.Ports.NATSSet, NATSClusterSet) that another process holds
// is replaced by one the operating system picks; a port the operator
// chose stays strict. The ports actually bound are what the agent
// advertises (natsPort, natsClusterPort).
func (a *Agent) startEmbeddedNATS() (*watch.EmbeddedServer, error) {
	// A server's NATS carries the client agents' requests, which come
	// from other hosts, to the address gossip advertises: it listens
	// where the server's Raft does, as Consul's server RPC port does.
	host := firstAddr(a.cfg.ClientAddr)
	if a.cfg.Server && !a.cfg.Dev {
		host = a.cfg.BindAddr
	}
	clientPort := a.cfg.Ports.NATS
	if clientPort == 0 {
		clientPort = -1 // watch's word for "any free port"
	}
	clusterPort := a.cfg.Ports.NATSCluster
	if clusterPort == 0 && a.clusteredNATS() {
		// The port goes into this server's own route (natsRoutes), so
		// it is picked before NATS starts rather than by NATS.
		p, err := systemPickedPort(a.cfg.BindAddr)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: pick a cluster port: %w", err)
		}
		clusterPort = p
	}
	clientAuth, err := a.natsClientAuth()
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	for attempt := 1; ; attempt++ {
		sc := watch.ServerConfig{
			Host:       host,
			Port:       clientPort,
			StoreDir:   filepath.Join(a.dataDir, "nats"),
			ServerName: a.cfg.NodeName,
			Logger:     a.log.With("component", "nats"),
			ClientAuth: clientAuth,
		}
		if err := a.embeddedNATSTLS(&sc); err != nil {
			return nil, err
		}
		if routes := a.natsRoutes(clusterPort); len(routes) > 0 {
			sc.ClusterName = "herald-" + a.cfg.Datacenter
			sc.ClusterHost = a.cfg.BindAddr
			sc.ClusterPort = clusterPort
			sc.Routes = routes
		}
		srv, err := watch.StartServer(sc)
		if err == nil {
			if len(sc.Routes) > 0 {
				a.natsClusterPort = clusterPort
			}
			return srv, nil
		}
		retry := attempt < natsPortAttempts
		switch {
		case errors.Is(err, watch.ErrClientPortInUse) && a.cfg.Ports.NATSSet:
			return nil, fmt.Errorf("embedded NATS: ports.nats %d is already in use on %s: free it, choose another "+
				"(-nats-port, ports.nats), or leave it unset to let Herald pick a free one: %w", clientPort, host, err)
		case errors.Is(err, watch.ErrClusterPortInUse) && a.cfg.Ports.NATSClusterSet && a.cfg.Ports.NATSCluster != 0:
			return nil, fmt.Errorf("embedded NATS: ports.nats_cluster %d is already in use on %s: free it, choose another "+
				"(-nats-cluster-port, ports.nats_cluster), or leave it unset to let Herald pick a free one: %w",
				clusterPort, a.cfg.BindAddr, err)
		case errors.Is(err, watch.ErrClientPortInUse) && retry:
			a.log.Warn("the NATS client port is in use; listening on one the system picks", "port", clientPort)
			clientPort = -1
		case errors.Is(err, watch.ErrClusterPortInUse) && retry:
			p, perr := systemPickedPort(a.cfg.BindAddr)
			if perr != nil {
				return nil, fmt.Errorf("embedded NATS: pick a cluster port: %w", perr)
			}
			a.log.Warn("the NATS cluster port is in use; listening on one the system picks", "port", clusterPort, "new_port", p)
			clusterPort = p
		default:
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
	}
}

// systemPickedPort returns a TCP port on host that the operating system
// had free a moment ago.
func systemPickedPort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// natsPort is the port of the NATS server that client agents reach this
// server on: the embedded server's bound port, or ports.nats with an
// external NATS; 0 when there is none, as on a client agent.
func (a *Agent) natsPort() int {
	if !a.cfg.Server && !a.cfg.Dev {
		return 0
	}
	if a.natsServer != nil {
		return a.natsServer.ClientPort()
	}
	return max(a.cfg.Ports.NATS, 0)
}

// clusteredNATS reports whether this server's NATS is to join the other
// servers' in one NATS cluster (nats_routes, see docs/clustering.md).
//
// The cluster is opt-in for now: a client agent following a server whose
// NATS is in a cluster can lose the stream for good when that server dies
// (found by bench/cmd/clusterbench -nats-cluster), while with a NATS server
// of each server's own it moves to another server and resumes by index.
func (a *Agent) clusteredNATS() bool {
	return a.cfg.Server && !a.cfg.Dev && a.cfg.Ports.NATSCluster >= 0 && len(a.cfg.NATSRoutes) > 0
}

// natsRoutes are the routes that make the servers' embedded NATS servers
// one NATS cluster with a replicated event stream, given this server's
// cluster port, or nil for a NATS server of its own. The list includes
// this server's own listener, which NATS skips, so that every server can
// be given the same list.
func (a *Agent) natsRoutes(clusterPort int) []string {
	if !a.clusteredNATS() || clusterPort <= 0 {
		return nil
	}
	self := net.JoinHostPort(a.cfg.AdvertiseAddr, strconv.Itoa(clusterPort))
	routes := []string{"nats-route://" + self}
	for _, r := range a.cfg.NATSRoutes {
		// A route to this server's own host names this server, or another
		// agent on the same address: neither is a route.
		if h, _, err := net.SplitHostPort(r); err == nil && h != a.cfg.AdvertiseAddr && h != a.cfg.BindAddr {
			routes = append(routes, "nats-route://"+r)
		}
	}
	if len(routes) == 1 {
		return nil
	}
	return routes
}

// streamReplicas is the event streams' replication factor: up to three
// copies over a NATS cluster, one on a NATS server of its own.
func (a *Agent) streamReplicas() int {
	if a.natsServer == nil || a.natsServer.ClusterAddr() == "" {
		return 1
	}
	return min(3, max(a.cfg.BootstrapExpect, len(a.natsRoutes(a.natsClusterPort))))
}

func firstAddr(list string) string {
	if f := strings.Fields(list); len(f) > 0 {
		return f[0]
	}
	return "127.0.0.1"
}

func (a *Agent) startRaft() error {
	host, err := a.openRaft()
	if err != nil {
		return err
	}
	// A single server, and any server restarting on its Raft state, starts
	// its shards now; a new server of a cluster waits for its peers.
	if a.cfg.Dev || a.cfg.Bootstrap || host.HasReplica(command.ShardCatalog) {
		members := map[uint64]string{host.ReplicaID(): host.RaftAddress()}
		if host.HasReplica(command.ShardCatalog) {
			members = nil
		}
		return a.startShards(members)
	}
	return nil
}

// openRaft starts this server's Raft host and makes its state machines;
// the shards are started separately.
func (a *Agent) openRaft() (*hlog.Host, error) {
	rid, err := leader.LoadReplicaID(a.dataDir, a.nodeID)
	if err != nil {
		return nil, err
	}
	cfg := a.raftConfig(rid)
	if cfg.TLS, err = a.raftTLS(); err != nil {
		return nil, err
	}
	host, err := hlog.Start(cfg)
	if err != nil {
		return nil, err
	}
	a.host, a.raft = host, host
	host.Requests().SetNode(a.cfg.NodeName)
	host.Requests().SetRecordOrigin(a.serversReadOrigin)
	for _, id := range command.Shards() {
		var sink statemachine.Sink = catalogSink{a}
		switch id {
		case command.ShardKV:
			sink = a.kv
		case command.ShardSystem:
			sink = a.acl
		}
		a.shards[id] = statemachine.New(statemachine.Config{
			Dir:            filepath.Join(a.dataDir, "state", id.String()),
			Shard:          id.String(),
			RetainCommands: a.cfg.HistoryRetainCommands,
			RetainAge:      a.cfg.HistoryRetainAge,
			Sink:           sink,
			Metrics:        a.metrics,
			Logger:         a.log.With("component", "statemachine"),
		})
	}
	return host, nil
}

func (a *Agent) raftConfig(replicaID uint64) hlog.Config {
	raftAddr := a.raftAddress()
	listen := net.JoinHostPort(a.cfg.BindAddr, strconv.Itoa(a.cfg.Ports.Server))
	if listen == raftAddr {
		listen = ""
	}
	return hlog.Config{
		Dir:            filepath.Join(a.dataDir, "raft"),
		RaftAddress:    raftAddr,
		ListenAddress:  listen,
		ReplicaID:      replicaID,
		RaftMultiplier: a.cfg.RaftMultiplier,
		Metrics:        a.metrics,
		Logger:         a.log.With("component", "raft"),
	}
}

// raftAddress is where other servers reach this one's Raft.
func (a *Agent) raftAddress() string {
	return net.JoinHostPort(a.cfg.AdvertiseAddr, strconv.Itoa(a.cfg.Ports.Server))
}

// startShards starts this server's replica of every shard; members as for
// log.Host.StartShard.
func (a *Agent) startShards(members map[uint64]string) error {
	a.shardsOnce.Do(func() {
		// A data dir made before a shard existed has the catalog shard
		// but not the new one (acl.go).
		upgrading := members == nil && a.host.HasReplica(command.ShardCatalog)
		for _, id := range shardsToStart() {
			s := a.shards[id]
			initial := members
			if upgrading && !a.host.HasReplica(id) {
				var err error
				if initial, err = a.newShardMembers(id); err != nil {
					a.shardsErr = err
					return
				}
			}
			if err := a.host.StartShard(id, initial, func() sm.IOnDiskStateMachine { return s }); err != nil {
				a.shardsErr = err
				return
			}
		}
		a.shardsStarted.Store(true)
		if a.gossip != nil {
			a.gossip.SetTags(map[string]string{leader.TagBootstrapped: "1"})
		}
	})
	return a.shardsErr
}

func (a *Agent) startPublishers(ctx context.Context) {
	if a.natsConn == nil {
		return
	}
	replicas := a.streamReplicas()
	for _, id := range command.Shards() {
		cfg := watch.PublisherConfig{
			Datacenter: a.cfg.Datacenter,
			Shard:      id.String(),
			Log:        a.publishLog(id, replicas),
			Conn:       a.natsConn,
			Replicas:   replicas,
			Logger:     a.log,
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			// The stream is not worth refusing to start over: reads and
			// writes work without it, and the outbox keeps the events
			// until it is there. A NATS cluster may take a while to form.
			var p *watch.Publisher
			for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
				var err error
				if p, err = watch.NewPublisher(cfg); err == nil {
					break
				}
				a.log.Warn("event stream not ready; retrying", "shard", id.String(), "error", err, "retry_in", delay)
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
			}
			select {
			case <-a.shards[id].Opened():
			case <-ctx.Done():
				return
			}
			if replicas > 1 {
				leader.PublishWhileLeading(ctx, a.host, id, p, a.log)
				return
			}
			if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("event publisher stopped", "shard", id.String(), "error", err)
			}
		}()
	}
}

func (a *Agent) startHTTP() error {
	if a.cfg.Ports.HTTP < 0 && (a.cfg.Ports.HTTPS < 0 || !a.cfg.TLS.HTTPS.HasCert()) {
		return nil
	}
	api := httpapi.New(httpapi.Config{
		Datacenter:     a.cfg.Datacenter,
		KVMaxValueSize: a.cfg.KVMaxValueSize,
		TxnMaxOps:      a.cfg.TxnMaxOps,
		Raft:           a.raft,
		KV:             a.kv,
		Catalog:        a.catalog,
		Agent:          a,
		Local:          a,
		Snapshots:      a,
		Events:         a.events,
		Metrics:        a.metrics,
		Observability:  a,
		Operator:       a,
		Logger:         a.log.With("component", "http"),
		ConnectCA:      a.connectCAForHTTP(),
		CASigner:       caSigner{a},
		ConfigEntries:  a.configEntries,
		ACL:            a.aclEnforce.resolver,
		ACLState:       a.acl,
		ACLServer:      a.aclServer(),
		Remote:         a,
		EnableDebug:    a.cfg.EnableDebug,
		// ACL replication (aclrep.go).
		ACLPrimaryDatacenter: a.aclPrimaryForHTTP(),
		ACLTokenReplication:  a.cfg.ACL.EnableTokenReplication,
		// Snapshot saves spool each shard to a file (snapshot.go).
		SnapshotSpoolDir: a.dataDir,
		// Config entry writes go to the primary (cfgrep.go).
		PrimaryDatacenter: a.primaryForHTTP(),
	})
	a.api = api
	a.wireUI(api)
	if err := a.startHTTPS(api); err != nil {
		return err
	}
	if a.cfg.Ports.HTTP < 0 {
		return nil
	}
	addrs := strings.Fields(a.cfg.Addresses.HTTP)
	if len(addrs) == 0 {
		addrs = []string{firstAddr(a.cfg.ClientAddr)}
	}
	for _, host := range addrs {
		ln, err := listenClient(host, a.cfg.Ports.HTTP, a.cfg.UnixSockets)
		if err != nil {
			return fmt.Errorf("HTTP API: %w", err)
		}
		srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
		a.httpServers = append(a.httpServers, srv)
		a.httpAddrs = append(a.httpAddrs, ln.Addr())
		go srv.Serve(ln)
	}
	return nil
}

// HTTPAddr is the address the HTTP API listens on (the first, if several).
func (a *Agent) HTTPAddr() string {
	if len(a.httpAddrs) == 0 {
		return ""
	}
	return httpAddrString(a.httpAddrs[0])
}

// NATSURL is the URL of the NATS server the agent publishes to; on a
// client agent, of the server's NATS it follows the stream on, "" until
// it reaches one.
func (a *Agent) NATSURL() string {
	nc := a.natsConn
	if nc == nil {
		nc = a.clientNATS.Load()
	}
	if nc == nil {
		return ""
	}
	return nc.ConnectedUrl()
}

// DataDir is where the agent keeps its state.
func (a *Agent) DataDir() string { return a.dataDir }

// WaitLeader blocks until every shard has a leader (on a client: until it
// has loaded every shard from the servers) or ctx ends.
func (a *Agent) WaitLeader(ctx context.Context) error {
	if a.client != nil {
		select {
		case <-a.client.Ready():
			return nil
		case <-ctx.Done():
			return hlog.ErrNoServers
		}
	}
	for _, id := range command.Shards() {
		if err := a.host.ReadIndex(ctx, id); err != nil {
			return fmt.Errorf("shard %s: %w", id.String(), err)
		}
	}
	return nil
}

// Shutdown stops everything the agent started, in reverse order, and removes
// a -dev agent's data. It is safe to call more than once.
func (a *Agent) Shutdown() {
	a.once.Do(func() {
		// Blocking queries answer first, with what they have: otherwise
		// the HTTP servers' shutdown waits for each until its ?wait (5
		// minutes by default) or the deadline below.
		if a.api != nil {
			a.api.Stop()
		}
		a.watches.stop()
		a.stopHTTP()
		if a.dns != nil {
			a.dns.Shutdown()
		}
		if a.local != nil {
			a.local.Stop()
		}
		if a.stopRPC != nil {
			a.stopRPC()
		}
		if a.cancel != nil {
			a.cancel()
		}
		if a.gossip != nil {
			a.gossip.Shutdown()
		}
		a.stopWAN()
		a.wg.Wait()
		if a.host != nil {
			a.host.Close()
		}
		if a.events != nil {
			a.events.Stop()
		}
		if a.natsConn != nil {
			a.natsConn.Close()
		}
		if a.natsServer != nil {
			a.natsServer.Shutdown()
		}
		if a.tempDir {
			os.RemoveAll(a.dataDir)
		}
	})
}

// httpStopTimeout is how long the HTTP servers' shutdown waits for the
// requests in progress, as Consul's agent does, before closing their
// connections.
const httpStopTimeout = time.Second

// stopHTTP stops the HTTP servers: no new connections, idle ones closed,
// requests in progress given httpStopTimeout to finish (blocking queries
// answer at once, see httpapi.Server.Stop) and then cut off.
func (a *Agent) stopHTTP() {
	ctx, cancel := context.WithTimeout(context.Background(), httpStopTimeout)
	defer cancel()
	for _, srv := range a.httpServers {
		if err := srv.Shutdown(ctx); err != nil {
			a.log.Warn("HTTP requests still running at shutdown; closing their connections", "error", err)
			srv.Close()
		}
	}
}

var _ httpapi.Agent = (*Agent)(nil)

// catalogSink feeds the catalog projection and, when the whole catalog is
// loaded anew (a snapshot restore), has the agent write its own node,
// services and checks again: the restored catalog may not have them.
type catalogSink struct{ a *Agent }

func (c catalogSink) Load(index uint64, src event.Source) error {
	if err := c.a.catalog.Load(index, src); err != nil {
		return err
	}
	if err := c.a.connectCA.Load(index, src); err != nil {
		return err
	}
	if err := c.a.configEntries.Load(index, src); err != nil {
		return err
	}
	if c.a.local != nil { // nil when working on a stopped server's data
		c.a.local.Resync()
	}
	return nil
}

func (c catalogSink) Apply(index uint64, events []event.Event) {
	c.a.catalog.Apply(index, events)
	c.a.connectCA.Apply(index, events)
	c.a.configEntries.Apply(index, events)
}

// startEvents starts the user-event buffer; conn may be nil (events stay on
// this agent).
func (a *Agent) startEvents(conn *nats.Conn) error {
	a.events = userevent.New(userevent.Config{Datacenter: a.cfg.Datacenter, NodeName: a.cfg.NodeName,
		Conn: conn, Services: a.local.Services, Logger: a.log.With("component", "userevent")})
	return a.events.Start()
}
