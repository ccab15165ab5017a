package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// configReplicatingServer is the server of d whose /v1/agent/self says it
// runs the config entry replication (it leads the catalog shard), or nil.
func configReplicatingServer(t *testing.T, d *datacenter) *server {
	t.Helper()
	for _, s := range d.servers {
		if s.cmd == nil {
			continue
		}
		self, err := apiClient(t, s).Agent().Self()
		if err != nil {
			continue
		}
		if rep, ok := self["Stats"]["config_entry_replication"].(map[string]any); ok && rep["running"] == "true" {
			return s
		}
	}
	return nil
}

// TestConfigReplicationSurvivesLeaderKill has a writer put service-defaults
// entries in dc1 while dc2's catalog leader (the server running the config
// entry replication) is killed with SIGKILL mid-stream: every entry
// arrives, and none is written twice (each keeps CreateIndex ==
// ModifyIndex in dc2, as each is written once in dc1). A write sent to
// one of dc2's servers lands in dc1.
func TestConfigReplicationSurvivesLeaderKill(t *testing.T) {
	dc1 := newDatacenter(t, "127.0.24", "dc1", 1, "127.0.24.11:8302")
	dc2 := newDatacenter(t, "127.0.24", "dc2", 11, "127.0.24.1:8302")
	for _, s := range append(append([]*server{}, dc1.servers...), dc2.servers...) {
		s.extraArgs = append(s.extraArgs, "-hcl", `primary_datacenter = "dc1"`)
	}
	// The servers alone: the client agents have no part here.
	for _, s := range append(append([]*server{}, dc1.servers...), dc2.servers...) {
		s.launch()
	}
	dc1.waitLeader()
	dc2.waitLeader()

	const n = 120
	name := func(i int) string { return fmt.Sprintf("svc-%04d", i) }
	c1 := apiClient(t, dc1.servers[0])
	var wg sync.WaitGroup
	wg.Add(1)
	// The writer waits at half-way for the kill, so that the kill falls
	// mid-stream: entries replicated before it, entries written after.
	killed := make(chan struct{})
	go func() {
		defer wg.Done()
		for i := range n {
			if i == n/2 {
				<-killed
			}
			// A CAS for absence: a retry of a write whose answer was
			// lost does not write the entry a second time in dc1.
			e := &api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: name(i), Protocol: "http"}
			for {
				if _, _, err := c1.ConfigEntries().CAS(e, 0, nil); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	var victim *server
	poll.Eventually(t, 60*time.Second, "dc2's catalog leader replicating", func() (bool, string) {
		victim = configReplicatingServer(t, dc2)
		return victim != nil, "no server of dc2 runs the replication"
	})
	poll.Eventually(t, 60*time.Second, "the first entries replicated", func() (bool, string) {
		list, _, err := apiClient(t, victim).ConfigEntries().List(api.ServiceDefaults, &api.QueryOptions{AllowStale: true})
		return err == nil && len(list) >= n/4, fmt.Sprint(len(list), err)
	})
	victim.kill()
	close(killed)
	t.Logf("killed %s, dc2's catalog leader, mid-stream", victim.node)
	wg.Wait()

	var other *server
	for _, s := range dc2.servers {
		if s != victim {
			other = s
		}
	}
	c2 := apiClient(t, other)
	var list []api.ConfigEntry
	poll.Eventually(t, 60*time.Second, "every entry in dc2", func() (bool, string) {
		var err error
		list, _, err = c2.ConfigEntries().List(api.ServiceDefaults, nil)
		return err == nil && len(list) == n, fmt.Sprint(len(list), err)
	})
	for i, e := range list {
		if e.GetName() != name(i) || e.(*api.ServiceConfigEntry).Protocol != "http" {
			t.Errorf("entry %d: %+v, want %s", i, e, name(i))
			continue
		}
		if e.GetCreateIndex() != e.GetModifyIndex() {
			t.Errorf("%s written more than once in dc2: CreateIndex %d, ModifyIndex %d", e.GetName(), e.GetCreateIndex(), e.GetModifyIndex())
		}
	}
	if s := configReplicatingServer(t, dc2); s == nil || s == victim {
		t.Errorf("after the kill, the replication runs on %v", s)
	}

	// A write sent to dc2 is answered by dc1 (by whichever of its servers
	// took it: the read asks for a consistent answer).
	if _, _, err := c2.ConfigEntries().Set(&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: api.ProxyConfigGlobal,
		Config: map[string]any{"protocol": "http"}}, nil); err != nil {
		t.Fatalf("a write sent to dc2: %v", err)
	}
	if e, _, err := c1.ConfigEntries().Get(api.ProxyDefaults, api.ProxyConfigGlobal, &api.QueryOptions{RequireConsistent: true}); err != nil || e == nil {
		t.Fatalf("the write sent to dc2, read in dc1: %+v %v", e, err)
	}
}
