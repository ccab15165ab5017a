package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
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

	// Leaderless while alone: the API answers, with no leader.
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + a.httpAddr() + "/v1/status/leader")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.TrimSpace(string(body)) != `""` {
				t.Fatalf("a lone server of two has a leader: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server API never came up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
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
	deadline = time.Now().Add(10 * time.Second)
	for {
		p, _, err := cb.KV().Get("shared", nil)
		if err == nil && p != nil && string(p.Value) == "yes" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the write on n1 never reached n2: %+v %v", p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	peers, err := cb.Status().Peers()
	if err != nil || len(peers) != 2 {
		t.Fatalf("peers: %v %v", peers, err)
	}
	members, _ := ca.Agent().Members(false)
	if len(members) != 2 {
		t.Fatalf("members on n1: %d", len(members))
	}
	if t.Failed() {
		log, _ := os.ReadFile(a.logPath)
		t.Logf("n1 log:\n%s", log)
	}
}
