//go:build unix

package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/rpc"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// This file finds which server leads each of Herald's two Raft shards,
// for the commands and tests that kill or pause a leader on purpose.

// ServerByRaftAddr finds the server whose Raft listener is addr.
func ServerByRaftAddr(servers []*Herald, addr string) (int, bool) {
	for i, s := range servers {
		if s.RaftAddr == addr {
			return i, true
		}
	}
	return -1, false
}

// CatalogLeader asks every server for /v1/status/leader (the catalog
// shard's leader) and returns the one they all name, as an index into
// servers.
func CatalogLeader(ctx context.Context, servers []*Herald) (int, error) {
	var addr string
	for i, s := range servers {
		h := NewConsulHTTP(s.HTTPAddr)
		a, err := h.Leader(ctx)
		h.Close()
		switch {
		case err != nil:
			return -1, fmt.Errorf("%s: /v1/status/leader: %w", s.Config.Node, err)
		case a == "":
			return -1, fmt.Errorf("%s knows no leader", s.Config.Node)
		case i > 0 && a != addr:
			return -1, fmt.Errorf("%s names leader %s, %s %s", s.Config.Node, a, servers[0].Config.Node, addr)
		}
		addr = a
	}
	i, ok := ServerByRaftAddr(servers, addr)
	if !ok {
		return -1, fmt.Errorf("the leader %s is none of the servers", addr)
	}
	return i, nil
}

// KVLeader finds the kv shard's leader, as an index into servers. No HTTP
// endpoint names it (/v1/status/leader and /v1/operator/raft/configuration
// are the catalog shard's), so it asks every server, over its own NATS
// port, the question client agents ask the servers (the "leader" request
// of agent/rpc), and maps the replica ID they all answer to a server
// through the replica IDs the servers gossip (tag "rid" in
// /v1/agent/members).
func KVLeader(ctx context.Context, servers []*Herald, dc string) (int, error) {
	var leader uint64
	for i, s := range servers {
		id, err := AskKVLeader(s, dc)
		switch {
		case err != nil:
			return -1, fmt.Errorf("%s: kv leader: %w", s.Config.Node, err)
		case i > 0 && id != leader:
			return -1, fmt.Errorf("%s names kv leader %x, %s %x", s.Config.Node, id, servers[0].Config.Node, leader)
		}
		leader = id
	}
	h := NewConsulHTTP(servers[0].HTTPAddr)
	defer h.Close()
	members, err := h.Members(ctx)
	if err != nil {
		return -1, err
	}
	for _, m := range members {
		if MemberReplicaID(m) != leader {
			continue
		}
		for i, s := range servers {
			if s.Config.Node == m.Name {
				return i, nil
			}
		}
	}
	return -1, fmt.Errorf("the kv leader, replica %x, is none of the servers gossip knows", leader)
}

// AskKVLeader asks one server which replica leads the kv shard.
func AskKVLeader(s *Herald, dc string) (uint64, error) {
	nc, err := nats.Connect(s.NATSURL(), nats.Name("herald-bench"), nats.Timeout(time.Second), nats.NoReconnect())
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	id, known := rpc.NewClient(nc, dc).Leader(command.ShardKV)
	if !known {
		return 0, errors.New("no leader known")
	}
	return id, nil
}

// MemberReplicaID is a server's Raft replica ID as it gossips it: the
// "rid" tag (hex), or for a server that does not tag it, the ID derived
// from its node ID as a new server's is.
func MemberReplicaID(m Member) uint64 {
	if id, err := strconv.ParseUint(m.Tags["rid"], 16, 64); err == nil && id != 0 {
		return id
	}
	if m.Tags["id"] == "" {
		return 0
	}
	return hlog.ReplicaIDFor(m.Tags["id"])
}
