//go:build unix

package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Etcd is a running etcd member and where it serves clients.
type Etcd struct {
	*Server
	ClientAddr string // host:port of its client API (gRPC)
}

// StartEtcd starts an etcd cluster of n members on free loopback ports,
// each persisting under dir with etcd's default durability (fsync on every
// commit). A one-member cluster's process is named "etcd" (log etcd.log,
// data etcd-data), the members of a larger one etcd1, etcd2, ... It
// returns once every process started; wait for them with Poll. If one
// fails to start, those already started are stopped.
func StartEtcd(bin, dir string, n int) ([]*Etcd, error) {
	if n < 1 {
		return nil, fmt.Errorf("an etcd cluster of %d members", n)
	}
	names := make([]string, n)
	clients := make([]string, n)
	peers := make([]string, n)
	cluster := make([]string, n)
	for i := range n {
		names[i] = "etcd"
		if n > 1 {
			names[i] = "etcd" + strconv.Itoa(i+1)
		}
		cport, err := FreePort()
		if err != nil {
			return nil, err
		}
		pport, err := FreePort()
		if err != nil {
			return nil, err
		}
		clients[i] = fmt.Sprintf("http://127.0.0.1:%d", cport)
		peers[i] = fmt.Sprintf("http://127.0.0.1:%d", pport)
		cluster[i] = names[i] + "=" + peers[i]
	}
	var out []*Etcd
	for i := range n {
		s, err := StartServer(names[i], dir, bin,
			"--name="+names[i],
			"--data-dir="+filepath.Join(dir, names[i]+"-data"),
			"--listen-client-urls="+clients[i],
			"--advertise-client-urls="+clients[i],
			"--listen-peer-urls="+peers[i],
			"--initial-advertise-peer-urls="+peers[i],
			"--initial-cluster="+strings.Join(cluster, ","),
			"--initial-cluster-state=new",
			"--logger=zap",
			"--log-level=warn",
		)
		if err != nil {
			for _, e := range out {
				e.Stop()
			}
			return nil, err
		}
		out = append(out, &Etcd{Server: s, ClientAddr: strings.TrimPrefix(clients[i], "http://")})
	}
	return out, nil
}

// EtcdLeader returns the index in members of the cluster's leader, once
// every member answers and they all name the same leader, one of them.
func EtcdLeader(ctx context.Context, members []*Etcd) (int, error) {
	var leader uint64
	found := -1
	for i, m := range members {
		kv, err := NewEtcdKV(m.ClientAddr)
		if err != nil {
			return -1, fmt.Errorf("%s: %w", m.Name, err)
		}
		id, l, err := kv.Status(ctx)
		kv.Close()
		switch {
		case err != nil:
			return -1, fmt.Errorf("%s: %w", m.Name, err)
		case l == 0:
			return -1, fmt.Errorf("%s knows no leader", m.Name)
		case i > 0 && l != leader:
			return -1, fmt.Errorf("%s names leader %x, %s %x", m.Name, l, members[0].Name, leader)
		}
		leader = l
		if id == l {
			found = i
		}
	}
	if found < 0 {
		return -1, errors.New("the leader the members name is none of them")
	}
	return found, nil
}
