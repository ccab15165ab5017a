package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// threeServers starts three servers that bootstrap together and returns
// them with a client for each, once each sees a leader.
func threeServers(t *testing.T, extra ...string) ([]*server, []*api.Client) {
	t.Helper()
	servers := []*server{newServer(t), newServer(t), newServer(t)}
	for i, s := range servers {
		s.node, s.expect = fmt.Sprintf("s%d", i+1), 3
		s.extraArgs = append([]string{"-retry-join=" + servers[(i+1)%3].serfAddr(), "-retry-interval=200ms"}, extra...)
	}
	for _, s := range servers {
		s.launch()
	}
	clients := make([]*api.Client, 3)
	for i, s := range servers {
		s.waitLeader()
		clients[i], _ = api.NewClient(&api.Config{Address: s.httpAddr()})
	}
	return servers, clients
}

// voters polls the Raft configuration through c until it has want voters,
// and returns their node names.
func waitVoters(t *testing.T, c *api.Client, want int, within time.Duration) []string {
	t.Helper()
	var names []string
	poll.Eventually(t, within, fmt.Sprintf("%d voters", want), func() (bool, string) {
		names = nil
		conf, err := c.Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: true})
		if err == nil {
			for _, s := range conf.Servers {
				if s.Voter {
					names = append(names, s.Node)
				}
			}
		}
		return err == nil && len(names) == want, fmt.Sprintf("have %v (%v)", names, err)
	})
	return names
}

func waitKV(t *testing.T, c *api.Client, key, want string, within time.Duration) {
	t.Helper()
	poll.Eventually(t, within, fmt.Sprintf("%s reads %q", key, want), func() (bool, string) {
		p, _, err := c.KV().Get(key, &api.QueryOptions{AllowStale: true})
		return err == nil && p != nil && string(p.Value) == want, fmt.Sprintf("%+v %v", p, err)
	})
}

// TestVotersFollowMembership: a server that leaves is removed from the
// voters and, started again, joins as a new one; a server dead for longer
// than autopilot's cleanup time is removed, and when it comes back on its
// old data it starts over by itself and is a voter again.
func TestVotersFollowMembership(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "autopilot.json")
	if err := os.WriteFile(conf, []byte(`{"autopilot": {"dead_server_cleanup_after": "2s"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	servers, clients := threeServers(t, "-config-file="+conf)
	waitVoters(t, clients[0], 3, 20*time.Second)
	if _, err := clients[0].KV().Put(&api.KVPair{Key: "k", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}

	// s3 leaves: it is no longer a voter, and the others go on.
	if err := clients[2].Agent().Leave(); err != nil {
		t.Fatal(err)
	}
	servers[2].cmd.Wait()
	servers[2].cmd = nil
	start := time.Now()
	waitVoters(t, clients[0], 2, 15*time.Second)
	t.Logf("the server that left was removed from the voters %v after leaving", time.Since(start).Round(time.Millisecond))
	if _, err := clients[0].KV().Put(&api.KVPair{Key: "k", Value: []byte("2")}, nil); err != nil {
		t.Fatalf("write with two voters left: %v", err)
	}
	// Started again, it joins as a new voter and has the data.
	servers[2].launch()
	waitVoters(t, clients[0], 3, 30*time.Second)
	waitKV(t, clients[2], "k", "2", 20*time.Second)

	// s2 is killed; after the cleanup time it is removed.
	servers[1].kill()
	start = time.Now()
	waitVoters(t, clients[0], 2, 30*time.Second)
	t.Logf("the dead server was removed from the voters %v after the kill", time.Since(start).Round(time.Millisecond))
	if _, err := clients[0].KV().Put(&api.KVPair{Key: "k", Value: []byte("3")}, nil); err != nil {
		t.Fatal(err)
	}
	// It comes back on its old state: told it was removed, it starts
	// over and becomes a voter again, with the data.
	servers[1].launch()
	start = time.Now()
	waitVoters(t, clients[0], 3, 45*time.Second)
	t.Logf("the removed server was a voter again %v after it came back", time.Since(start).Round(time.Millisecond))
	waitKV(t, clients[1], "k", "3", 20*time.Second)
	if _, err := clients[1].KV().Put(&api.KVPair{Key: "k", Value: []byte("4")}, nil); err != nil {
		t.Fatalf("write through the rejoined server: %v", err)
	}
	waitKV(t, clients[0], "k", "4", 10*time.Second)

	// remove-peer by address takes a server out at once.
	conf2, err := clients[0].Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	for _, s := range conf2.Servers {
		if s.Node == "s3" {
			addr = s.Address
		}
	}
	out, err := exec.Command(heraldBin, "operator", "raft", "remove-peer", "-http-addr="+servers[0].httpAddr(), "-address="+addr).CombinedOutput()
	if err != nil {
		t.Fatalf("remove-peer: %v\n%s", err, out)
	}
	waitVoters(t, clients[0], 2, 10*time.Second)
	// ...and back as a new voter, since it is alive.
	waitVoters(t, clients[0], 3, 45*time.Second)
}

// TestRecoverFromQuorumLoss: two of three servers are lost for good; the
// survivor refuses writes; `operator raft recover` on it, then starting
// it, brings the cluster back with its data; a survivor cleared with
// -rejoin joins it as a voter.
func TestRecoverFromQuorumLoss(t *testing.T) {
	servers, clients := threeServers(t)
	for i := range 50 {
		if _, err := clients[0].KV().Put(&api.KVPair{Key: fmt.Sprintf("k/%02d", i), Value: []byte("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitKV(t, clients[1], "k/49", "v", 10*time.Second)
	servers[2].kill()
	servers[1].kill()
	start := time.Now()
	if _, err := clients[0].KV().Put(&api.KVPair{Key: "lost", Value: []byte("quorum")}, nil); err == nil || !strings.Contains(err.Error(), "No cluster leader") {
		t.Fatalf("a write without quorum: %v", err)
	}
	t.Logf("a write without quorum was refused after %v", time.Since(start).Round(time.Millisecond))

	// Recover on s1, then start it alone.
	servers[0].stop()
	out, err := exec.Command(heraldBin, append([]string{"operator", "raft", "recover"}, servers[0].agentArgs()...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("recover: %v\n%s", err, out)
	}
	t.Logf("recover said:\n%s", out)
	servers[0].start()
	if _, err := clients[0].KV().Put(&api.KVPair{Key: "after", Value: []byte("recovery")}, nil); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	keys, _, err := clients[0].KV().Keys("k/", "", nil)
	if err != nil || len(keys) != 50 {
		t.Fatalf("keys after recovery: %d %v", len(keys), err)
	}
	waitVoters(t, clients[0], 1, 10*time.Second)

	// s2 survived too: cleared with -rejoin, it joins as a new voter.
	out, err = exec.Command(heraldBin, append([]string{"operator", "raft", "recover", "-rejoin"}, servers[1].agentArgs()...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("recover -rejoin: %v\n%s", err, out)
	}
	servers[1].launch()
	waitVoters(t, clients[0], 2, 30*time.Second)
	waitKV(t, clients[1], "after", "recovery", 20*time.Second)
	waitKV(t, clients[1], "k/00", "v", 5*time.Second)
}
