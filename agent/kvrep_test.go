package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
)

// federate joins two one-server datacenters and waits until dc1's events
// can be fetched from dc2.
func federate(t *testing.T, a2 *agent.Agent, c1, c2 *api.Client, token string) {
	t.Helper()
	// dc1's own WAN member (dc1 may also list a former dc2 server).
	var addr string
	poll.Eventually(t, 20*time.Second, "dc1's own WAN member", func() (bool, string) {
		members, err := c1.Agent().Members(true)
		for _, m := range members {
			if m.Name == "s-dc1.dc1" {
				addr = fmt.Sprintf("%s:%d", m.Addr, m.Port)
				return true, ""
			}
		}
		return false, fmt.Sprint(members, err)
	})
	if err := c2.Agent().Join(addr, true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	poll.Eventually(t, 30*time.Second, "dc1's event feed from dc2", func() (bool, string) {
		resp, err := a2.FetchEvents(context.Background(), &wan.EventsRequest{Datacenter: "dc1", Shard: event.ShardKV, Token: token})
		return err == nil && resp.Error == "", fmt.Sprint(resp, err)
	})
}

// TestEventFeed reads dc1's KV events from dc2 through the gateways: a
// batch bounded in size, the next resumed from its Last exactly, a prefix,
// and the events filtered by what the token may read in dc1.
func TestEventFeed(t *testing.T) {
	_, c1 := startDC(t, "dc1", "-hcl", fmt.Sprintf(`acl {
  enabled = true
  default_policy = "deny"
  tokens {
    initial_management = %q
    agent = %q
  }
}`, rootSecret2, rootSecret2))
	c1.AddHeader("X-Consul-Token", rootSecret2)
	a2, c2 := startDC(t, "dc2")
	federate(t, a2, c1, c2, rootSecret2)

	for i, k := range []string{"app/a", "app/b", "secret/x", "app/c"} {
		if _, err := c1.KV().Put(&api.KVPair{Key: k, Value: []byte(fmt.Sprint(i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	policy, _, err := c1.ACL().PolicyCreate(&api.ACLPolicy{Name: "app-read", Rules: `key_prefix "app/" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	appToken, _, err := c1.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fetch := func(req wan.EventsRequest) *wan.EventsResponse {
		t.Helper()
		req.Datacenter, req.Shard = "dc1", event.ShardKV
		resp, err := a2.FetchEvents(ctx, &req)
		if err != nil || resp.Error != "" {
			t.Fatalf("fetch %+v: %+v %v", req, resp, err)
		}
		return resp
	}
	keys := func(resp *wan.EventsResponse) string {
		var ks []string
		for _, ev := range resp.Events {
			if ev.KV != nil {
				ks = append(ks, string(ev.Type)+" "+ev.Key)
			}
		}
		return strings.Join(ks, ",")
	}

	// Every key with the management token, two events at a time.
	first := fetch(wan.EventsRequest{Token: rootSecret2, Prefix: "app/", MaxEvents: 2})
	if got := keys(first); got != "kv.updated app/a,kv.updated app/b" {
		t.Fatalf("first batch: %s", got)
	}
	if first.Last != first.Events[1].Index {
		t.Errorf("first batch's Last %d, want its last event's index %d", first.Last, first.Events[1].Index)
	}
	next := fetch(wan.EventsRequest{Token: rootSecret2, Prefix: "app/", After: first.Last})
	if got := keys(next); got != "kv.updated app/c" {
		t.Errorf("resumed batch: %s", got)
	}
	if all := fetch(wan.EventsRequest{Token: rootSecret2}); !strings.Contains(keys(all), "kv.updated secret/x") {
		t.Errorf("management token: %s, want secret/x among them", keys(all))
	}
	// A token that reads app/ only sees app/.
	if got := keys(fetch(wan.EventsRequest{Token: appToken.SecretID})); got != "kv.updated app/a,kv.updated app/b,kv.updated app/c" {
		t.Errorf("app/ token: %s", got)
	}
	// No token reads nothing, and an unknown token is refused.
	if got := keys(fetch(wan.EventsRequest{})); got != "" {
		t.Errorf("anonymous: %s, want nothing", got)
	}
	resp, err := a2.FetchEvents(ctx, &wan.EventsRequest{Datacenter: "dc1", Shard: event.ShardKV, Token: "6d0ee4a1-0000-4000-8000-000000000000"})
	if err != nil || resp.Status != 403 {
		t.Errorf("unknown token: %+v %v, want a 403", resp, err)
	}
	// Waiting for the next event: it comes when written.
	done := make(chan *wan.EventsResponse, 1)
	go func() {
		r, _ := a2.FetchEvents(ctx, &wan.EventsRequest{Datacenter: "dc1", Shard: event.ShardKV, Token: rootSecret2,
			Prefix: "app/", After: next.Last, Wait: time.Minute})
		done <- r
	}()
	if _, err := c1.KV().Put(&api.KVPair{Key: "app/d", Value: []byte("d")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r == nil || keys(r) != "kv.updated app/d" {
			t.Errorf("waiting fetch: %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting fetch did not answer the new event")
	}
}

// TestKVReplication replicates dc1's app/ into dc2's mirror/app/: puts,
// updates, deletes and a tree delete, each applied once; then dc2's server
// restarts on its data and carries on from its recorded progress without
// applying anything twice.
func TestKVReplication(t *testing.T) {
	_, c1 := startDC(t, "dc1")
	dir2 := t.TempDir()
	repl := `kv_replication {
  source_datacenter = "dc1"
  prefix = "app/"
  destination_prefix = "mirror/app/"
}`
	// The same Raft and NATS ports across the restart below.
	ports := []string{fmt.Sprintf("-server-port=%d", agenttest.FreePort(t)), fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t))}
	a2, c2 := startDC(t, "dc2", append([]string{"-data-dir=" + dir2, "-hcl", repl}, ports...)...)
	kv1, kv2 := c1.KV(), c2.KV()
	put := func(k, v string) {
		t.Helper()
		if _, err := kv1.Put(&api.KVPair{Key: k, Value: []byte(v), Flags: 7}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Before the replication can start: a key in dc1, which the first
	// copy brings, and a local key under the destination prefix in dc2,
	// which it deletes (the destination mirrors the source).
	put("app/old", "0")
	if _, err := kv2.Put(&api.KVPair{Key: "mirror/app/local", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	federate(t, a2, c1, c2, "")
	poll.Eventually(t, 30*time.Second, "the first copy", func() (bool, string) {
		s := replicationStatus(t, c2)
		return s["SourceIndex"].(float64) > 0, fmt.Sprint(s)
	})
	if p, _, err := kv2.Get("mirror/app/old", nil); err != nil || p == nil || string(p.Value) != "0" {
		t.Errorf("the key dc1 had before the replication started: %+v %v", p, err)
	}
	put("app/a", "1")
	put("app/b", "1")
	put("other/x", "not replicated")
	put("app/a", "2")
	if _, err := kv1.Delete("app/b", nil); err != nil {
		t.Fatal(err)
	}
	put("app/tree/1", "t")
	put("app/tree/2", "t")
	if _, err := kv1.DeleteTree("app/tree/", nil); err != nil {
		t.Fatal(err)
	}
	put("app/c", "1")

	want := map[string]string{"mirror/app/a": "2", "mirror/app/c": "1", "mirror/app/old": "0"}
	mirror := func() (map[string]*api.KVPair, error) {
		pairs, _, err := kv2.List("mirror/", nil)
		out := map[string]*api.KVPair{}
		for _, p := range pairs {
			out[p.Key] = p
		}
		return out, err
	}
	var got map[string]*api.KVPair
	poll.Eventually(t, 60*time.Second, "dc1's app/ in dc2's mirror/app/", func() (bool, string) {
		var err error
		got, err = mirror()
		if err != nil || len(got) != len(want) {
			return false, fmt.Sprint(got, err)
		}
		for k, v := range want {
			if got[k] == nil || string(got[k].Value) != v || got[k].Flags != 7 {
				return false, fmt.Sprint(k, got[k])
			}
		}
		return true, ""
	})
	if p, _, _ := kv2.Get("other/x", nil); p != nil {
		t.Errorf("a key outside the prefix was replicated: %+v", p)
	}
	if c := got["mirror/app/c"]; c.CreateIndex != c.ModifyIndex {
		t.Errorf("mirror/app/c written once in dc1 was written %d..%d here", c.CreateIndex, c.ModifyIndex)
	}
	src, _, err := kv1.Get("app/c", nil)
	if err != nil {
		t.Fatal(err)
	}
	status := replicationStatus(t, c2)
	// The first copy's two changes (app/old, the local key's delete),
	// then nine in dc1 (app/a twice, app/b and its delete, two keys and
	// their tree delete, app/c), each applied once.
	if status["SourceIndex"] != float64(src.ModifyIndex) || status["Running"] != true || status["AppliedChanges"] != float64(11) {
		t.Errorf("status: %v, want SourceIndex %d, running, 11 changes applied", status, src.ModifyIndex)
	}

	// dc2's server restarts on its data: the replication resumes after
	// the recorded index and writes nothing again.
	a2.Shutdown()
	a2, c2 = startDC(t, "dc2", append([]string{"-data-dir=" + dir2, "-hcl", repl}, ports...)...)
	kv2 = c2.KV()
	federate(t, a2, c1, c2, "")
	put("app/d", "after restart")
	poll.Eventually(t, 60*time.Second, "the write after dc2's restart replicated", func() (bool, string) {
		p, _, err := kv2.Get("mirror/app/d", nil)
		return err == nil && p != nil, fmt.Sprint(p, err)
	})
	again, err := mirror()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"mirror/app/a", "mirror/app/c", "mirror/app/old"} {
		if again[k] == nil || again[k].ModifyIndex != got[k].ModifyIndex {
			t.Errorf("%s after the restart: %+v, want it untouched at ModifyIndex %d", k, again[k], got[k].ModifyIndex)
		}
	}
	if len(again) != 4 {
		t.Errorf("mirror after the restart: %v", again)
	}
}

// replicationStatus is the first replication of /v1/agent/self.
func replicationStatus(t *testing.T, c *api.Client) map[string]any {
	t.Helper()
	var self map[string]any
	if _, err := c.Raw().Query("/v1/agent/self", &self, nil); err != nil {
		t.Fatal(err)
	}
	list, _ := self["KVReplication"].([]any)
	if len(list) == 0 {
		t.Fatalf("no KVReplication in /v1/agent/self: %v", self["KVReplication"])
	}
	return list[0].(map[string]any)
}

// A client agent reads another datacenter's events through its servers'
// relay (herald.<dc>.rpc.wan.events): the agent's own FetchEvents and its
// /v1/agent/event-stream?dc=, as `herald events -datacenter` calls it.
func TestEventFeedThroughClientAgent(t *testing.T) {
	_, c1 := startDC(t, "dc1")
	a2, c2 := startDC(t, "dc2")
	federate(t, a2, c1, c2, "")
	lan, err := c2.Agent().Members(false)
	if err != nil || len(lan) != 1 {
		t.Fatalf("dc2's LAN members: %v %v", lan, err)
	}
	cl := agenttest.Start(t, "-node=c-dc2", "-datacenter=dc2", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-retry-join=%s:%d", lan[0].Addr, lan[0].Port))
	if _, err := c1.KV().Put(&api.KVPair{Key: "app/through-client", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	has := func(events []event.Event) bool {
		for _, e := range events {
			if e.Key == "app/through-client" && e.Type == event.KVUpdated {
				return true
			}
		}
		return false
	}
	poll.Eventually(t, 30*time.Second, "dc1's event read through dc2's client agent", func() (bool, string) {
		resp, err := cl.FetchEvents(context.Background(), &wan.EventsRequest{Datacenter: "dc1", Shard: event.ShardKV})
		if err != nil || resp.Error != "" {
			return false, fmt.Sprint(resp, err)
		}
		return has(resp.Events), fmt.Sprintf("%d events, last %d", len(resp.Events), resp.Last)
	})
	req, err := http.NewRequest(http.MethodGet, "http://"+cl.HTTPAddr()+"/v1/agent/event-stream?dc=dc1&shard=kv&prefix=app/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var batch wan.EventsResponse
	if err := json.NewDecoder(resp.Body).Decode(&batch); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("event-stream on the client agent: %d %v", resp.StatusCode, err)
	}
	if !has(batch.Events) || batch.Last == 0 {
		t.Errorf("event-stream on the client agent: %d events, last %d; want dc1's write", len(batch.Events), batch.Last)
	}
}
