package agent

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"runtime"
	"sort"
	"strconv"

	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/version"
)

// Self is the body of /v1/agent/self, in Consul's shape: the official
// clients read Config.NodeName, Config.Datacenter and Member from it.
func (a *Agent) Self() any {
	v := version.Get()
	meta := a.nodeMeta()
	self := map[string]any{
		"Config": map[string]any{
			"Datacenter":        a.cfg.Datacenter,
			"PrimaryDatacenter": a.cfg.WAN.PrimaryDatacenter,
			"NodeName":          a.cfg.NodeName,
			"NodeID":            a.nodeID,
			"Server":            a.cfg.Server || a.cfg.Dev,
			"Revision":          v.Revision,
			"Version":           version.ConsulCompat,
			"BuildDate":         v.BuildDate,
			"HeraldVersion":     v.Human(),
			// Where this agent's event stream is, for `herald events`
			// and other NATS clients: the port actually bound, which
			// is not ports.nats when that was taken (startEmbeddedNATS).
			"EventStreamURL": a.NATSURL(),
		},
		"DebugConfig": map[string]any{
			"Datacenter":       a.cfg.Datacenter,
			"NodeName":         a.cfg.NodeName,
			"NodeID":           a.nodeID,
			"DataDir":          a.dataDir,
			"DevMode":          a.cfg.Dev,
			"ServerMode":       a.cfg.Server || a.cfg.Dev,
			"BootstrapExpect":  a.cfg.BootstrapExpect,
			"ClientAddrs":      []string{a.cfg.ClientAddr},
			"BindAddr":         a.cfg.BindAddr,
			"AdvertiseAddrLAN": a.cfg.AdvertiseAddr,
			"HTTPPort":         a.cfg.Ports.HTTP,
			"DNSPort":          a.cfg.Ports.DNS,
			"ServerPort":       a.cfg.Ports.Server,
			"NATSPort":         a.natsPort(),
			"NATSClusterPort":  a.natsClusterPort,
			"RaftMultiplier":   a.cfg.RaftMultiplier,
		},
		"Coord":  a.selfCoordinate(),
		"Member": a.member(),
		"Meta":   meta,
		"Stats":  a.stats(),
	}
	if r := a.kvReplicationStatus(); r != nil {
		self["KVReplication"] = r
	}
	maps.Copy(self["DebugConfig"].(map[string]any), a.debugAddrs())
	maps.Copy(self["DebugConfig"].(map[string]any), a.gossipDebugConfig())
	return self
}

// stats are the sections of /v1/agent/self's Stats, which `info` prints:
// agent, runtime, and one raft section per shard (raftStatsSections).
func (a *Agent) stats() map[string]any {
	out := map[string]any{
		"agent": map[string]string{"check_monitors": "0", "services": "0"},
		"runtime": map[string]string{
			"os":         runtime.GOOS,
			"arch":       runtime.GOARCH,
			"version":    runtime.Version(),
			"goroutines": strconv.Itoa(runtime.NumGoroutine()),
			"cpu_count":  strconv.Itoa(runtime.NumCPU()),
		},
	}
	for name, section := range a.raftStatsSections() {
		out[name] = section
	}
	if serfLAN := a.gossipStats(); serfLAN != nil {
		out["serf_lan"] = serfLAN
	}
	if a.wan.gossip != nil {
		out["serf_wan"] = a.wan.gossip.Serf().Stats()
	}
	if rep := a.configReplicationStats(); rep != nil {
		out["config_entry_replication"] = rep
	}
	return out
}

func raftState(known, leading bool) string {
	switch {
	case leading:
		return "Leader"
	case known:
		return "Follower"
	}
	return "Candidate"
}

// LeaderAddress is the Raft address of the catalog shard's leader, which
// stands for "the leader" where Consul has a single Raft group (the kv
// shard's is in /v1/operator/raft/configuration's Shards), or the kv
// shard's while the catalog shard has none.
func (a *Agent) LeaderAddress() string {
	if a.host == nil {
		return a.client.LeaderAddress()
	}
	// While the catalog shard has no leader yet (a fresh server elects its
	// shards one after the other), the kv shard's stands in: clients read
	// "" as "no write can succeed", and a KV write can already.
	for _, shard := range []command.Shard{command.ShardCatalog, command.ShardKV} {
		if addr := a.leaderAddress(shard); addr != "" {
			return addr
		}
	}
	return ""
}

// Peers are the Raft addresses of the catalog shard's voters.
func (a *Agent) Peers(ctx context.Context) ([]string, error) {
	if a.host == nil {
		return a.serverRaftAddrs(), nil
	}
	members, err := a.host.Membership(ctx, command.ShardCatalog)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(members.Voters))
	for _, addr := range members.Voters {
		if host, port, err := net.SplitHostPort(addr); err == nil {
			addr = net.JoinHostPort(host, port)
		}
		out = append(out, addr)
	}
	sort.Strings(out)
	return out, nil
}

// NodeName is the agent's node name.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Export writes a snapshot of a shard's state (for /v1/snapshot).
func (a *Agent) Export(shardID command.Shard, w io.Writer) (uint64, error) {
	if a.host == nil {
		return 0, errors.New("snapshots are taken on servers: point the request at one")
	}
	return a.shards[shardID].Export(w)
}

// serverRaftAddrs are the Raft addresses of the servers gossip knows, for
// a client's /v1/status/peers.
func (a *Agent) serverRaftAddrs() []string {
	var out []string
	if a.gossip != nil {
		for _, m := range a.gossip.Members() {
			if m.IsServer() && m.Status == membership.StatusAlive && m.Tags["port"] != "" {
				out = append(out, net.JoinHostPort(m.Addr, m.Tags["port"]))
			}
		}
	}
	sort.Strings(out)
	return out
}

// member is this agent as a cluster member, in Consul's shape (the Member
// of /v1/agent/self and the elements of /v1/agent/members).
func (a *Agent) member() httpapi.Member {
	v := version.Get()
	role := "node"
	if a.cfg.Server || a.cfg.Dev {
		role = "consul" // Consul's tag value for servers
	}
	return httpapi.Member{
		Name: a.cfg.NodeName,
		Addr: a.cfg.AdvertiseAddr,
		Port: a.cfg.Ports.SerfLAN,
		Tags: map[string]string{
			"role":    role,
			"dc":      a.cfg.Datacenter,
			"id":      a.nodeID,
			"port":    strconv.Itoa(a.cfg.Ports.Server),
			"build":   version.ConsulCompat + ":" + v.Revision,
			"vsn":     "2",
			"vsn_min": "2",
			"vsn_max": "3",
		},
		Status:      1,
		ProtocolMin: 1,
		ProtocolMax: 5,
		ProtocolCur: 2,
		DelegateMin: 2,
		DelegateMax: 5,
		DelegateCur: 4,
	}
}
