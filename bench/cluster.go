//go:build unix

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// This file starts a Herald cluster of processes (servers and client
// agents on one host, each on loopback ports of its own) and reads its
// state through the HTTP API: who leads, who votes, who gossip knows.

// ClusterConfig says how to start a Herald cluster.
type ClusterConfig struct {
	// Bin is the herald binary, Dir the directory for every agent's log
	// and data.
	Bin, Dir string
	// Servers bootstrap together (-bootstrap-expect=Servers); Clients
	// are client agents joining them.
	Servers, Clients int
	// DNS gives every agent's DNS interface a port.
	DNS bool
	// ServerAddrs, if set, are the loopback addresses the servers bind,
	// one each; else every agent binds 127.0.0.1. Client agents bind
	// 127.0.0.1.
	ServerAddrs []string
	// NATSCluster makes the servers' embedded NATS servers one NATS
	// cluster, each routing to the others' cluster listeners
	// (-nats-route), as servers on different hosts do by default. Herald
	// takes no route to its own address, so the servers need distinct
	// ServerAddrs.
	NATSCluster bool
	// Extra arguments for every agent, appended last.
	Extra []string
	// ServerGroups, if set, are the group IDs the servers run with, one
	// each (see HeraldConfig.Group).
	ServerGroups []uint32
}

// StartHeraldCluster starts cfg.Servers persistent servers, nodes s1, s2,
// ... (processes herald-s1, ...), each -retry-join'ing the next one's Serf
// LAN address (the last the first), and cfg.Clients client agents, nodes
// c1, ..., joining every server. It returns once every process started;
// wait for them with Poll. If one fails to start, those already started
// are stopped.
func StartHeraldCluster(cfg ClusterConfig) (servers, clients []*Herald, err error) {
	switch {
	case cfg.Servers < 1:
		return nil, nil, fmt.Errorf("a cluster of %d servers", cfg.Servers)
	case len(cfg.ServerGroups) > 0 && len(cfg.ServerGroups) != cfg.Servers:
		return nil, nil, fmt.Errorf("%d server groups for %d servers", len(cfg.ServerGroups), cfg.Servers)
	case len(cfg.ServerAddrs) > 0 && len(cfg.ServerAddrs) != cfg.Servers:
		return nil, nil, fmt.Errorf("%d server addresses for %d servers", len(cfg.ServerAddrs), cfg.Servers)
	case cfg.NATSCluster && len(slices.Compact(slices.Sorted(slices.Values(cfg.ServerAddrs)))) != cfg.Servers:
		return nil, nil, errors.New("a NATS cluster needs a distinct address for every server")
	}
	// Every port is chosen first: each server's -retry-join names
	// another's.
	addrs := make([]string, cfg.Servers)
	ports := make([]HeraldPorts, cfg.Servers)
	serf := make([]string, cfg.Servers)
	routes := make([]string, cfg.Servers)
	for i := range ports {
		addrs[i] = "127.0.0.1"
		if len(cfg.ServerAddrs) > 0 {
			addrs[i] = cfg.ServerAddrs[i]
		}
		if err := ports[i].fill(addrs[i], cfg.DNS, cfg.NATSCluster); err != nil {
			return nil, nil, err
		}
		serf[i] = net.JoinHostPort(addrs[i], strconv.Itoa(ports[i].SerfLAN))
		routes[i] = net.JoinHostPort(addrs[i], strconv.Itoa(ports[i].NATSCluster))
	}
	defer func() {
		if err != nil {
			for _, h := range append(servers, clients...) {
				h.Stop()
			}
			servers, clients = nil, nil
		}
	}()
	for i := range cfg.Servers {
		node := "s" + strconv.Itoa(i+1)
		hc := HeraldConfig{Bin: cfg.Bin, Dir: cfg.Dir, Name: "herald-" + node, Node: node, Addr: addrs[i],
			Expect: cfg.Servers, Join: []string{serf[(i+1)%cfg.Servers]}, DNS: cfg.DNS, Ports: ports[i], Extra: cfg.Extra}
		if len(cfg.ServerGroups) > 0 {
			hc.Group = cfg.ServerGroups[i]
		}
		if cfg.NATSCluster {
			hc.NATSCluster = true
			for j, r := range routes {
				if j != i {
					hc.NATSRoutes = append(hc.NATSRoutes, r)
				}
			}
		}
		h, err := StartHerald(hc)
		if err != nil {
			return nil, nil, err
		}
		servers = append(servers, h)
	}
	for i := range cfg.Clients {
		node := "c" + strconv.Itoa(i+1)
		h, err := StartHerald(HeraldConfig{Bin: cfg.Bin, Dir: cfg.Dir, Name: "herald-" + node, Node: node,
			Client: true, Join: serf, DNS: cfg.DNS, Extra: cfg.Extra})
		if err != nil {
			return nil, nil, err
		}
		clients = append(clients, h)
	}
	return servers, clients, nil
}

// Leader returns the agent's answer to /v1/status/leader: the Raft address
// of the leader (of the catalog shard, on Herald), "" when there is none.
func (c *ConsulHTTP) Leader(ctx context.Context) (string, error) {
	_, out, err := c.do(ctx, http.MethodGet, "/v1/status/leader", nil)
	if err != nil {
		return "", err
	}
	var addr string
	if err := json.Unmarshal(out, &addr); err != nil {
		return "", fmt.Errorf("/v1/status/leader: %w", err)
	}
	return addr, nil
}

// RaftServer is one server of /v1/operator/raft/configuration.
type RaftServer struct {
	ID      string
	Node    string
	Address string
	Leader  bool
	Voter   bool
}

// RaftServers reads /v1/operator/raft/configuration.
func (c *ConsulHTTP) RaftServers(ctx context.Context) ([]RaftServer, error) {
	_, out, err := c.do(ctx, http.MethodGet, "/v1/operator/raft/configuration", nil)
	if err != nil {
		return nil, err
	}
	var conf struct{ Servers []RaftServer }
	if err := json.Unmarshal(out, &conf); err != nil {
		return nil, fmt.Errorf("/v1/operator/raft/configuration: %w", err)
	}
	return conf.Servers, nil
}

// Member is one agent of /v1/agent/members.
type Member struct {
	Name   string
	Addr   string
	Port   int
	Status int // 1 alive, 2 leaving, 3 left, 4 failed
	Tags   map[string]string
}

// Members reads /v1/agent/members: the agents gossip knows.
func (c *ConsulHTTP) Members(ctx context.Context) ([]Member, error) {
	_, out, err := c.do(ctx, http.MethodGet, "/v1/agent/members", nil)
	if err != nil {
		return nil, err
	}
	var ms []Member
	if err := json.Unmarshal(out, &ms); err != nil {
		return nil, fmt.Errorf("/v1/agent/members: %w", err)
	}
	return ms, nil
}

// KVValue reads key's raw value (GET /v1/kv/<key>?raw) with the agent's
// default consistency, or with stale from the agent's own copy, asking no
// server (?stale); found is false on 404.
func (c *ConsulHTTP) KVValue(ctx context.Context, key string, stale bool) (value []byte, found bool, err error) {
	query := "?raw"
	if stale {
		query += "&stale"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/kv/"+(&url.URL{Path: key}).EscapedPath()+query, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, false, err
	}
	out, err := drain(resp.Body, 1<<20)
	if err != nil {
		return nil, false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return out, true, nil
	case http.StatusNotFound:
		return nil, false, nil
	default:
		return nil, false, statusError("GET /v1/kv/"+key, resp.StatusCode, out[:min(len(out), 512)])
	}
}
