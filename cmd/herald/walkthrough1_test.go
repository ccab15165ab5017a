package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// digAnswer runs dig and returns its answer section's lines, with TTLs.
func digAnswer(t *testing.T, server, name, qtype string) []string {
	t.Helper()
	host, port, _ := net.SplitHostPort(server)
	out, err := exec.Command("dig", "@"+host, "-p", port, name, qtype, "+noall", "+answer", "+time=2", "+tries=1").Output()
	if err != nil {
		t.Fatalf("dig %s %s: %v", name, qtype, err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	return lines
}

// writeServiceOnNode writes the walkthrough's service definition without an
// address of its own: the service is on its node's address, so SRV answers
// name the node, as in the walkthrough (a service with an IP of its own is
// answered with an .addr. target, as modern Consul does).
func writeServiceOnNode(t *testing.T, dir, name string, port int) {
	t.Helper()
	def := fmt.Sprintf(`{"service": {"name": %q, "tags": ["v1"], "port": %d,
  "check": {"http": "http://127.0.0.1:%d/health", "interval": "1s"}}}`, name, port, port)
	if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWalkthroughOneWithClient is walkthrough 1 as far as it concerns the
// cluster: two servers with -bootstrap-expect=2 wait leaderless until
// `join` introduces them; a client agent says there is no known server
// until it joins; web3, defined in -config-dir with an HTTP check on a
// server (n2) and on the client (n3), is found by dig on the other server
// (n1) with both instances, their nodes' names and ports, TTL 0; when
// web3 stops on n2, n1 answers with n3's alone, and when it stops on n3
// too, with none. On the way the leader leaves, and the cluster recovers
// when it is started and joined again.
func TestWalkthroughOneWithClient(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig is not installed (Debian: dnsutils)")
	}
	n1, n2, n3 := newServer(t), newServer(t), newServer(t)
	n1.node, n2.node, n3.node = "n1", "n2", "n3"
	n1.expect, n2.expect = 2, 2
	n3.client = true
	port2, stop2 := serveHealth(t)
	port3, stop3 := serveHealth(t)
	conf2, conf3 := t.TempDir(), t.TempDir()
	writeServiceOnNode(t, conf2, "web3", port2)
	writeServiceOnNode(t, conf3, "web3", port3)
	n2.extraArgs = []string{"-config-dir=" + conf2}
	n3.extraArgs = []string{"-config-dir=" + conf3}
	agents := []*server{n1, n2, n3}
	defer func() {
		if t.Failed() {
			for _, a := range agents {
				log, _ := os.ReadFile(a.logPath)
				t.Logf("%s log:\n%s", a.node, log)
			}
		}
	}()
	for _, a := range agents {
		a.launch()
	}

	// The servers wait, leaderless, for each other.
	deadline := time.Now().Add(20 * time.Second) // for both
	for _, s := range []*server{n1, n2} {
		if leader := s.leaderOnceUp(time.Until(deadline)); leader != `""` {
			t.Fatalf("%s has a leader before the join: %s", s.node, leader)
		}
	}
	start := time.Now()
	if out, err := exec.Command(heraldBin, "join", "-http-addr="+n2.httpAddr(), n1.serfAddr()).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "Successfully joined cluster") {
		t.Fatalf("join n2 to n1: %v %s", err, out)
	}
	n1.waitLeader()
	n2.waitLeader()
	t.Logf("the servers have a leader %v after the join", time.Since(start).Round(time.Millisecond))
	out, err := exec.Command(heraldBin, "info", "-http-addr="+n1.httpAddr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "num_peers = 1") || !strings.Contains(string(out), "leader_addr = 127.0.0.1:") {
		t.Fatalf("info on n1:\n%s %v", out, err)
	}

	// The client, not joined yet, knows no server: its log says so, and a
	// write through it fails.
	poll.True(t, 20*time.Second, "the client's log says it knows no server", func() bool {
		log, _ := os.ReadFile(n3.logPath)
		return strings.Contains(string(log), "No known Consul servers")
	})
	c3, _ := api.NewClient(&api.Config{Address: n3.httpAddr(), HttpClient: &http.Client{Timeout: 30 * time.Second}})
	_, err = c3.KV().Put(&api.KVPair{Key: "from/n3", Value: []byte("x")}, nil)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("a write through a client that joined nothing: %v", err)
	}
	t.Run("NoKnownServersAnswer", func(t *testing.T) {
		if !strings.Contains(err.Error(), "No known Consul servers") {
			t.Fatalf("a write through a client that joined nothing: %v", err)
		}
	})
	if out, err := exec.Command(heraldBin, "join", "-http-addr="+n3.httpAddr(), n1.serfAddr()).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "Successfully joined cluster") {
		t.Fatalf("join n3 to n1: %v %s", err, out)
	}
	n3.waitLeader()
	out, err = exec.Command(heraldBin, "members", "-http-addr="+n1.httpAddr()).CombinedOutput()
	if err != nil || strings.Count(string(out), "alive") != 3 || !strings.Contains(string(out), "client") {
		t.Fatalf("members on n1:\n%s %v", out, err)
	}

	// dig on n1 finds web3 on n2 and on n3.
	want2 := fmt.Sprintf("1 1 %d n2.node.dc1.consul.", port2)
	want3 := fmt.Sprintf("1 1 %d n3.node.dc1.consul.", port3)
	start = time.Now()
	waitDig(t, 15*time.Second, n1.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool {
		return len(got) == 2 && got[0] == min(want2, want3) && got[1] == max(want2, want3)
	})
	t.Logf("both web3 instances in n1's DNS %v after n3 joined", time.Since(start).Round(time.Millisecond))
	for _, l := range digAnswer(t, n1.dnsAddr(), "web3.service.consul", "SRV") {
		if !strings.HasPrefix(l, "web3.service.consul. 0 IN SRV 1 1 ") {
			t.Fatalf("an SRV answer is not TTL 0: %q", l)
		}
	}
	if got := dig(t, n1.dnsAddr(), "n3.node.dc1.consul", "A"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Fatalf("n3.node.dc1.consul A on n1: %v", got)
	}

	// The leader leaves. In the walkthrough's Consul the survivor was left
	// without a leader, and the cluster was repaired by editing peers.json;
	// in Herald the leaving server removes itself from the voters, so the
	// survivor leads alone, and the left server, started again and joined,
	// is a voter again, with no hand edits.
	leader, err := c3.Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader seen by n3: %q %v", leader, err)
	}
	left, survivor := n1, n2
	if strings.HasSuffix(leader, fmt.Sprintf(":%d", n2.raftPort)) {
		left, survivor = n2, n1
	} else if !strings.HasSuffix(leader, fmt.Sprintf(":%d", n1.raftPort)) {
		t.Fatalf("leader %s is neither server", leader)
	}
	if out, err := exec.Command(heraldBin, "leave", "-http-addr="+left.httpAddr()).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "Graceful leave complete") {
		t.Fatalf("leave on %s: %v %s", left.node, err, out)
	}
	leftAt := time.Now()
	exited := make(chan error, 1)
	go func(cmd *exec.Cmd) { exited <- cmd.Wait() }(left.cmd)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("%s exited with %v after leave", left.node, err)
		}
		left.cmd = nil
	case <-time.After(20 * time.Second):
		t.Fatalf("%s kept running after leave", left.node)
	}
	cs, _ := api.NewClient(&api.Config{Address: survivor.httpAddr(), HttpClient: &http.Client{Timeout: 30 * time.Second}})
	poll.Eventually(t, 15*time.Second, fmt.Sprintf("a write taken by the survivor %s after the leader left", survivor.node), func() (bool, string) {
		_, err := cs.KV().Put(&api.KVPair{Key: "after/leave", Value: []byte("1")}, nil)
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("the survivor %s took a write %v after %s left", survivor.node, time.Since(leftAt).Round(time.Millisecond), left.node)
	restartedAt := time.Now()
	left.launch()
	// Its API may not be up yet: retry the join.
	poll.Eventually(t, 20*time.Second, fmt.Sprintf("join %s to %s after its restart", left.node, survivor.node), func() (bool, string) {
		out, err := exec.Command(heraldBin, "join", "-http-addr="+left.httpAddr(), survivor.serfAddr()).CombinedOutput()
		return err == nil && strings.Contains(string(out), "Successfully joined cluster"), fmt.Sprintf("%v %s", err, out)
	})
	// A server that left rejoins as a new voter of every shard, one
	// shard after another, each waiting for the survivor to add it and
	// send it the shard's state: on a machine whose cores are busy that
	// has been seen to take over 30 s (docs/clustering.md, "Known
	// limits").
	left.waitLeaderWithin(90 * time.Second)
	names := waitVoters(t, cs, 2, 20*time.Second)
	if !(names[0] == left.node || names[1] == left.node) {
		t.Fatalf("voters after %s came back: %v", left.node, names)
	}
	cl, _ := api.NewClient(&api.Config{Address: left.httpAddr()})
	waitKV(t, cl, "after/leave", "1", 10*time.Second)
	t.Logf("%s, restarted and joined, is a voter with the survivor's writes %v after its restart", left.node, time.Since(restartedAt).Round(time.Millisecond))
	waitDig(t, 15*time.Second, n1.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool {
		return len(got) == 2 && got[0] == min(want2, want3) && got[1] == max(want2, want3)
	})

	// web3 stops on n2: n1 answers with n3's instance alone.
	stop2()
	start = time.Now()
	waitDig(t, 10*time.Second, n1.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool {
		return len(got) == 1 && got[0] == want3
	})
	t.Logf("web3 on n2 left n1's DNS %v after it stopped", time.Since(start).Round(time.Millisecond))

	// And on the client: no instance is left.
	stop3()
	start = time.Now()
	waitDig(t, 10*time.Second, n1.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool { return len(got) == 0 })
	t.Logf("web3 on the client n3 left n1's DNS %v after it stopped", time.Since(start).Round(time.Millisecond))
}
