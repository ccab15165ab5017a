package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// TestTwoServersBootstrapAfterJoin is the start of walkthrough 1: two
// servers started with -bootstrap-expect=2 wait leaderless until `join`
// introduces them; then a leader is elected and a write on one is read on
// the other.
func TestTwoServersBootstrapAfterJoin(t *testing.T) {
	a, b := newServer(t), newServer(t)
	a.node, b.node = "n1", "n2"
	a.expect, b.expect = 2, 2
	a.launch()
	b.launch()

	// Leaderless while alone: each API answers, with no leader.
	for _, s := range []*server{a, b} {
		if leader := s.leaderOnceUp(20 * time.Second); leader != `""` {
			t.Fatalf("a lone server of two has a leader: %s", leader)
		}
	}

	join := exec.Command(heraldBin, "join", "-http-addr="+b.httpAddr(), a.serfAddr())
	out, err := join.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Successfully joined cluster") {
		t.Fatalf("join: %v %s", err, out)
	}
	a.waitLeader()
	b.waitLeader()

	ca, _ := api.NewClient(&api.Config{Address: a.httpAddr()})
	cb, _ := api.NewClient(&api.Config{Address: b.httpAddr()})
	if _, err := ca.KV().Put(&api.KVPair{Key: "shared", Value: []byte("yes")}, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, "the write on n1 read on n2", func() (bool, string) {
		p, _, err := cb.KV().Get("shared", nil)
		return err == nil && p != nil && string(p.Value) == "yes", fmt.Sprintf("%+v %v", p, err)
	})
	peers, err := cb.Status().Peers()
	if err != nil || len(peers) != 2 {
		t.Fatalf("peers: %v %v", peers, err)
	}
	members, _ := ca.Agent().Members(false)
	if len(members) != 2 {
		t.Fatalf("members on n1: %d", len(members))
	}
	out, err = exec.Command(heraldBin, "operator", "raft", "list-peers", "-http-addr="+a.httpAddr()).CombinedOutput()
	if err != nil || strings.Count(string(out), "\n") != 3 || strings.Count(string(out), "leader") != 1 ||
		!strings.Contains(string(out), "n1") || !strings.Contains(string(out), "n2") {
		t.Fatalf("operator raft list-peers:\n%s %v", out, err)
	}
	out, err = exec.Command(heraldBin, "info", "-http-addr="+b.httpAddr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "num_peers = 1") {
		t.Fatalf("info:\n%s %v", out, err)
	}
	checkShardLeaders(t, a, ca)

	// Without its peer a server of two has no quorum: a write answers 500
	// "No cluster leader" within seconds instead of hanging, and reads say
	// there is no known leader.
	b.kill()
	poll.Eventually(t, 15*time.Second, "a write refused without a quorum", func() (bool, string) {
		start := time.Now()
		_, err := ca.KV().Put(&api.KVPair{Key: "alone", Value: []byte("x")}, nil)
		if err == nil {
			return false, "writes kept succeeding"
		}
		if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "No cluster leader") {
			t.Fatalf("write without quorum: %v", err)
		}
		// A write that reached a leader before it lost its quorum
		// is answered at its deadline (7 s, Consul's RPC hold
		// timeout), after which it can no longer be applied.
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("a write without quorum took %v to fail", took)
		}
		return true, ""
	})
	_, meta, _ := ca.KV().Get("shared", nil)
	if meta == nil || meta.KnownLeader {
		t.Fatalf("a read without quorum reports a known leader: %+v", meta)
	}
	if t.Failed() {
		log, _ := os.ReadFile(a.logPath)
		t.Logf("n1 log:\n%s", log)
	}
}

// TestThreeServersSurviveLeaderKill: three servers bootstrap together;
// kill -9 of the leader leaves a majority that elects a new leader and takes
// writes; the killed server restarts on its data, rejoins and catches up.
func TestThreeServersSurviveLeaderKill(t *testing.T) {
	servers := []*server{newServer(t), newServer(t), newServer(t)}
	for i, s := range servers {
		s.node, s.expect = fmt.Sprintf("s%d", i+1), 3
	}
	for _, s := range servers[1:] {
		s.extraArgs = []string{"-retry-join=" + servers[0].serfAddr(), "-retry-interval=200ms"}
	}
	for _, s := range servers {
		s.launch()
	}
	for _, s := range servers {
		s.waitLeader()
	}
	clients := make([]*api.Client, 3)
	for i, s := range servers {
		clients[i], _ = api.NewClient(&api.Config{Address: s.httpAddr()})
	}
	if _, err := clients[0].KV().Put(&api.KVPair{Key: "before", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}

	// Find and kill the leader.
	leader, err := clients[0].Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader: %q %v", leader, err)
	}
	var dead *server
	var alive []int
	for i, s := range servers {
		if strings.HasSuffix(leader, fmt.Sprintf(":%d", s.raftPort)) {
			dead = s
		} else {
			alive = append(alive, i)
		}
	}
	if dead == nil {
		t.Fatalf("leader %s is none of the servers", leader)
	}
	dead.kill()
	start := time.Now()
	poll.Eventually(t, 20*time.Second, "a write accepted after the leader died", func() (bool, string) {
		_, err := clients[alive[0]].KV().Put(&api.KVPair{Key: "after", Value: []byte("2")}, nil)
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("first write accepted %v after the leader was killed", time.Since(start).Round(time.Millisecond))

	// The killed server restarts and catches up.
	dead.launch()
	dead.waitLeader()
	var revived *api.Client
	for i, s := range servers {
		if s == dead {
			revived = clients[i]
		}
	}
	poll.Eventually(t, 20*time.Second, "the restarted server caught up", func() (bool, string) {
		p, _, err := revived.KV().Get("after", &api.QueryOptions{AllowStale: true})
		return err == nil && p != nil && string(p.Value) == "2", fmt.Sprintf("%+v %v", p, err)
	})
	peers, _ := clients[alive[0]].Status().Peers()
	if len(peers) != 3 {
		t.Fatalf("peers after the restart: %v", peers)
	}
}

// TestFailedServerLeavesPassingAnswers: when gossip declares a server
// failed, its node's serfHealth goes critical, so its services leave
// ?passing answers (and DNS) on the others.
func TestFailedServerLeavesPassingAnswers(t *testing.T) {
	servers := []*server{newServer(t), newServer(t), newServer(t)}
	for i, s := range servers {
		s.node, s.expect = fmt.Sprintf("f%d", i+1), 3
		if i > 0 {
			s.extraArgs = []string{"-retry-join=" + servers[0].serfAddr(), "-retry-interval=200ms"}
		}
		s.launch()
	}
	for _, s := range servers {
		s.waitLeader()
	}
	// Register a service on each server, so whichever dies has one.
	clients := make([]*api.Client, 3)
	for i, s := range servers {
		clients[i], _ = api.NewClient(&api.Config{Address: s.httpAddr()})
		if err := clients[i].Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: "web", Name: "web", Port: 80 + i}); err != nil {
			t.Fatal(err)
		}
	}
	poll.Eventually(t, 20*time.Second, "web passing on all 3 servers", func() (bool, string) {
		e, _, _ := clients[0].Health().Service("web", "", true, nil)
		return len(e) == 3, fmt.Sprintf("web passing on %d of 3 servers", len(e))
	})
	// Kill a server that does not lead the catalog, so the leader that
	// records the failure stays up.
	leader, _ := clients[0].Status().Leader()
	victim := 2
	if strings.HasSuffix(leader, fmt.Sprintf(":%d", servers[2].raftPort)) {
		victim = 1
	}
	servers[victim].kill()
	start := time.Now()
	poll.Eventually(t, 30*time.Second, "the killed server's service no longer passing", func() (bool, string) {
		e, _, _ := clients[0].Health().Service("web", "", true, nil)
		return len(e) == 2, fmt.Sprintf("%d passing", len(e))
	})
	t.Logf("the dead server's service left ?passing answers %v after the kill", time.Since(start).Round(time.Millisecond))
	checks, _, _ := clients[0].Health().Node(servers[victim].node, nil)
	for _, c := range checks {
		if c.CheckID == "serfHealth" && c.Status != "critical" {
			t.Fatalf("serfHealth of the dead server: %s", c.Status)
		}
	}
}

// TestLeaveStopsTheAgent: `herald leave` leaves gracefully and the agent's
// process exits, as Consul's does; started again, the server is back with
// its data.
func TestLeaveStopsTheAgent(t *testing.T) {
	s := newServer(t)
	s.start()
	c, _ := api.NewClient(&api.Config{Address: s.httpAddr()})
	if _, err := c.KV().Put(&api.KVPair{Key: "kept", Value: []byte("yes")}, nil); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(heraldBin, "leave", "-http-addr="+s.httpAddr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Graceful leave complete") {
		t.Fatalf("leave: %v %s", err, out)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the agent exited with %v after leave", err)
		}
		s.cmd = nil
	case <-time.After(20 * time.Second):
		t.Fatal("the agent kept running after leave")
	}
	s.start()
	p, _, err := c.KV().Get("kept", nil)
	if err != nil || p == nil || string(p.Value) != "yes" {
		t.Fatalf("after leave and restart: %+v %v", p, err)
	}
}

// TestLoopbackCluster is walkthrough 2's setup: three servers on 127.0.0.2-4
// with Consul's default ports side by side, -bootstrap-expect=2 (the third
// is added as a voter by the leader), members listed through any of them,
// and a node looked up by name with dig.
func TestLoopbackCluster(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig is not installed (Debian: dnsutils)")
	}
	names := []string{"agent-one", "agent-two", "agent-three"}
	servers := make([]*server, 3)
	for i := range servers {
		s := newLoopbackServer(t, fmt.Sprintf("127.0.0.%d", i+2))
		s.node, s.expect = names[i], 2
		s.extraArgs = []string{"-ui", "-retry-join=127.0.0.2", "-retry-join=127.0.0.3", "-retry-join=127.0.0.4", "-retry-interval=200ms"}
		servers[i] = s
		s.launch()
	}
	for _, s := range servers {
		s.waitLeader()
	}
	c, _ := api.NewClient(&api.Config{Address: servers[2].httpAddr()})
	poll.Eventually(t, 20*time.Second, "the third server a voter", func() (bool, string) {
		peers, _ := c.Status().Peers()
		return len(peers) == 3, fmt.Sprintf("peers %v", peers)
	})
	out, err := exec.Command(heraldBin, "members", "-http-addr="+servers[1].httpAddr()).CombinedOutput()
	if err != nil || strings.Count(string(out), "alive") != 3 {
		t.Fatalf("members:\n%s %v", out, err)
	}
	// Each agent registers its node once it sees a leader: poll for it.
	waitDig(t, 10*time.Second, servers[0].dnsAddr(), "agent-one.node.consul", "A", func(got []string) bool {
		return len(got) == 1 && got[0] == "127.0.0.2"
	})
	got := waitDig(t, 10*time.Second, servers[1].dnsAddr(), "consul.service.consul", "A", func(got []string) bool { return len(got) == 3 })
	if got[0] != "127.0.0.2" || got[2] != "127.0.0.4" {
		t.Fatalf("consul.service.consul: %v", got)
	}
}

// TestClientAgent: a client agent (no -server) joins a server; a service
// registered on the client is in the server's DNS, a key written on the
// client is read on the server and on the client itself, and the client's
// own DNS answers from its copy of the catalog.
func TestClientAgent(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig is not installed (Debian: dnsutils)")
	}
	srv := newServer(t)
	srv.node = "srv"
	srv.start()
	cl := newServer(t)
	cl.node, cl.client = "cli", true
	cl.extraArgs = []string{"-retry-join=" + srv.serfAddr(), "-retry-interval=200ms"}
	cl.launch()
	cl.waitLeader()

	cc, _ := api.NewClient(&api.Config{Address: cl.httpAddr()})
	sc, _ := api.NewClient(&api.Config{Address: srv.httpAddr()})
	if err := cc.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web3", Port: 10000,
		Check: &api.AgentServiceCheck{TTL: "1m", Status: "passing"}}); err != nil {
		t.Fatal(err)
	}
	waitDig(t, 10*time.Second, srv.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool {
		return len(got) == 1 && strings.HasPrefix(got[0], "1 1 10000 cli.node.dc1.consul.")
	})
	// The client's own DNS answers from its copy.
	waitDig(t, 10*time.Second, cl.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool { return len(got) == 1 })
	waitDig(t, 10*time.Second, cl.dnsAddr(), "consul.service.consul", "A", func(got []string) bool { return len(got) == 1 })

	if _, err := cc.KV().Put(&api.KVPair{Key: "from/client", Value: []byte("hi")}, nil); err != nil {
		t.Fatal(err)
	}
	// Read your own write on the client, at once.
	if p, _, err := cc.KV().Get("from/client", nil); err != nil || p == nil || string(p.Value) != "hi" {
		t.Fatalf("the client does not read its own write: %+v %v", p, err)
	}
	if p, _, err := sc.KV().Get("from/client", nil); err != nil || p == nil || string(p.Value) != "hi" {
		t.Fatalf("the server lacks the client's write: %+v %v", p, err)
	}
	// A write on the server reaches the client's copy, and consistent reads
	// on the client wait for it.
	if _, err := sc.KV().Put(&api.KVPair{Key: "from/server", Value: []byte("ho")}, nil); err != nil {
		t.Fatal(err)
	}
	if p, _, err := cc.KV().Get("from/server", &api.QueryOptions{RequireConsistent: true}); err != nil || p == nil || string(p.Value) != "ho" {
		t.Fatalf("consistent read on the client: %+v %v", p, err)
	}
	members, _ := sc.Agent().Members(false)
	if len(members) != 2 {
		t.Fatalf("members on the server: %d", len(members))
	}

	// A user event fired on the server reaches the client, and back.
	if _, _, err := sc.Event().Fire(&api.UserEvent{Name: "deploy", Payload: []byte("v2")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cc.Event().Fire(&api.UserEvent{Name: "rollback"}, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, "user events between server and client", func() (bool, string) {
		onClient, _, _ := cc.Event().List("deploy", nil)
		onServer, _, _ := sc.Event().List("rollback", nil)
		return len(onClient) == 1 && string(onClient[0].Payload) == "v2" && len(onServer) == 1,
			fmt.Sprintf("%d on the client, %d on the server", len(onClient), len(onServer))
	})

	// A killed client's services leave DNS once gossip declares it failed.
	cl.kill()
	start := time.Now()
	waitDig(t, 20*time.Second, srv.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool { return len(got) == 0 })
	t.Logf("the killed client's service left DNS %v after the kill", time.Since(start).Round(time.Millisecond))
}

// checkShardLeaders checks that every shard's leader is visible through s:
// /v1/operator/raft/configuration keeps Consul's shape for the catalog
// shard (the official client decodes it) and names each shard's voters and
// leader in Shards; /v1/status/leader is the catalog shard's leader;
// list-peers marks each shard's leader in its Leads column; info has a
// raft section per shard.
func checkShardLeaders(t *testing.T, s *server, c *api.Client) {
	t.Helper()
	conf, err := c.Operator().RaftGetConfiguration(nil)
	if err != nil || len(conf.Servers) != 2 || conf.Index == 0 {
		t.Fatalf("the official client's RaftGetConfiguration: %+v %v", conf, err)
	}
	var raw struct {
		Servers []api.RaftServer
		Shards  map[string]struct {
			Leader, LeaderNode string
			Index              uint64
			Servers            []api.RaftServer
		}
	}
	if _, err := c.Raw().Query("/v1/operator/raft/configuration", &raw, nil); err != nil {
		t.Fatal(err)
	}
	if len(raw.Shards) != 3 {
		t.Fatalf("shards in the Raft configuration: %+v", raw.Shards)
	}
	leaders := map[string]string{} // shard -> leader's node
	for _, name := range []string{"catalog", "kv", "system"} {
		sh, ok := raw.Shards[name]
		if !ok || len(sh.Servers) != 2 || sh.Leader == "" {
			t.Fatalf("shard %s in the Raft configuration: %+v", name, sh)
		}
		marked := 0
		for _, srv := range sh.Servers {
			if srv.Leader {
				marked++
				if srv.Address != sh.Leader || srv.Node != sh.LeaderNode {
					t.Fatalf("shard %s: leader %s (%s), marked %+v", name, sh.Leader, sh.LeaderNode, srv)
				}
			}
		}
		if marked != 1 {
			t.Fatalf("shard %s: %d servers marked leader: %+v", name, marked, sh.Servers)
		}
		leaders[name] = sh.LeaderNode
	}
	for _, srv := range conf.Servers {
		if srv.Leader != (srv.Address == raw.Shards["catalog"].Leader) {
			t.Fatalf("Servers marks %+v, the catalog shard's leader is %s", srv, raw.Shards["catalog"].Leader)
		}
	}
	if leader, err := c.Status().Leader(); err != nil || leader != raw.Shards["catalog"].Leader {
		t.Fatalf("/v1/status/leader is %q (%v); the catalog shard's leader is %s", leader, err, raw.Shards["catalog"].Leader)
	}

	out, err := exec.Command(heraldBin, "operator", "raft", "list-peers", "-http-addr="+s.httpAddr()).CombinedOutput()
	if err != nil {
		t.Fatalf("list-peers: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	header := strings.Fields(lines[0])
	if want := []string{"Node", "ID", "Address", "State", "Voter", "RaftProtocol", "Leads"}; strings.Join(header, " ") != strings.Join(want, " ") {
		t.Fatalf("list-peers header: %q", lines[0])
	}
	led := map[string]string{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if f[6] == "-" {
			continue
		}
		for _, shard := range strings.Split(f[6], ",") {
			led[shard] = f[0]
		}
	}
	if led["catalog"] != leaders["catalog"] || led["kv"] != leaders["kv"] {
		t.Fatalf("list-peers names the leaders %v; the configuration %v:\n%s", led, leaders, out)
	}

	out, err = exec.Command(heraldBin, "info", "-http-addr="+s.httpAddr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "raft:\n") || !strings.Contains(string(out), "raft_kv:\n") ||
		!strings.Contains(string(out), "shard = catalog") || !strings.Contains(string(out), "shard = kv") ||
		!strings.Contains(string(out), "raft_system:\n") || strings.Count(string(out), "leader_addr = 127.0.0.1:") != 3 {
		t.Fatalf("info, a raft section per shard:\n%s %v", out, err)
	}
}
