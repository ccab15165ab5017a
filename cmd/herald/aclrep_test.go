package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// aclRepRoot is dc1's initial management token, every agent's agent
// token and dc2's replication token.
const aclRepRoot = "7e3a9c1d-2b4f-4d6e-8a0c-5f1e2d3c4b5a"

func aclRepConfig(dc string) string {
	extra := ""
	if dc == "dc1" {
		extra = fmt.Sprintf("initial_management = %q", aclRepRoot)
	} else {
		extra = fmt.Sprintf("replication = %q", aclRepRoot)
	}
	return fmt.Sprintf(`primary_datacenter = "dc1"
acl {
  enabled = true
  default_policy = "deny"
  enable_token_replication = true
  tokens {
    agent = %q
    %s
  }
}`, aclRepRoot, extra)
}

// systemLeader is the server of d that leads the system shard (the ACL
// state), as /v1/operator/raft/configuration's Shards tell it.
func systemLeader(t *testing.T, d *datacenter, from *server) *server {
	t.Helper()
	var node string
	poll.Eventually(t, 30*time.Second, d.name+"'s system shard leader", func() (bool, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+from.httpAddr()+"/v1/operator/raft/configuration", nil)
		req.Header.Set("X-Consul-Token", aclRepRoot)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer res.Body.Close()
		var cfg struct {
			Shards map[string]struct{ LeaderNode string }
		}
		if err := json.NewDecoder(res.Body).Decode(&cfg); err != nil {
			return false, err.Error()
		}
		node = cfg.Shards["system"].LeaderNode
		return node != "", fmt.Sprintf("%d %+v", res.StatusCode, cfg)
	})
	for _, s := range d.servers {
		if s.node == node {
			return s
		}
	}
	t.Fatalf("the system shard's leader %q is none of %s's servers", node, d.name)
	return nil
}

// TestACLReplicationProcesses runs two datacenters of three servers, dc1
// the primary, with ACLs on: a token made in dc1 authorizes a KV write
// through dc2's client agent within a deadline; with the server leading
// dc2's ACL state killed -9, replication carries on from another server: a
// second token arrives, a deleted one goes.
func TestACLReplicationProcesses(t *testing.T) {
	dc1 := newDatacenter(t, "127.0.21", "dc1", 1, "127.0.21.11:8302")
	dc2 := newDatacenter(t, "127.0.21", "dc2", 11, "127.0.21.1:8302")
	for _, d := range []*datacenter{dc1, dc2} {
		for _, s := range d.all() {
			s.extraArgs = append(s.extraArgs, "-hcl="+aclRepConfig(d.name))
		}
	}
	for _, s := range append(dc1.servers, dc2.all()...) {
		s.launch()
	}
	dc1.waitLeader()
	dc2.waitLeader()

	root1 := tokenClient(t, dc1.servers[0], aclRepRoot)
	var policy *api.ACLPolicy
	poll.Eventually(t, 30*time.Second, "a policy written in dc1", func() (bool, string) {
		var err error
		policy, _, err = root1.ACL().PolicyCreate(&api.ACLPolicy{Name: "app", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
		return err == nil, fmt.Sprint(err)
	})
	newToken := func(what string) *api.ACLToken {
		t.Helper()
		tok, _, err := root1.ACL().TokenCreate(&api.ACLToken{Description: what, Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return tok
	}
	first := newToken("first")
	app := tokenClient(t, dc2.client, first.SecretID)
	poll.Eventually(t, 30*time.Second, "dc1's token writing through dc2's client agent", func() (bool, string) {
		_, err := app.KV().Put(&api.KVPair{Key: "app/one", Value: []byte("1")}, nil)
		return err == nil, fmt.Sprint(err)
	})

	leader := systemLeader(t, dc2, dc2.servers[0])
	leader.kill()
	var survivor *server
	for _, s := range dc2.servers {
		if s != leader {
			survivor = s
		}
	}
	second := newToken("second")
	if _, err := root1.ACL().TokenDelete(first.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	root2 := tokenClient(t, survivor, aclRepRoot)
	poll.Eventually(t, 45*time.Second, "replication carrying on after dc2's leader was killed", func() (bool, string) {
		tok, _, err := root2.ACL().TokenRead(second.AccessorID, nil)
		if err != nil || tok.SecretID != second.SecretID {
			return false, fmt.Sprintf("second token in dc2: %+v %v", tok, err)
		}
		if _, _, err := root2.ACL().TokenRead(first.AccessorID, nil); err == nil || !strings.Contains(err.Error(), "ACL not found") {
			return false, fmt.Sprint("the deleted token in dc2: ", err)
		}
		return true, ""
	})
	if _, err := tokenClient(t, dc2.client, second.SecretID).KV().Put(&api.KVPair{Key: "app/two", Value: []byte("2")}, nil); err != nil {
		t.Errorf("the second token's write through dc2's client agent: %v", err)
	}
	st, _, err := root2.ACL().Replication(nil)
	if err != nil || !st.Enabled || st.SourceDatacenter != "dc1" || st.ReplicatedTokenIndex < second.CreateIndex {
		t.Errorf("dc2's replication status: %+v %v, want the index of the second token (%d) reached", st, err, second.CreateIndex)
	}
}
