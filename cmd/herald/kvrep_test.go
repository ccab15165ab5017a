package main

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// replicatingServer is the server of d whose /v1/agent/self says it runs
// the KV replication (it leads the kv shard), or nil.
func replicatingServer(t *testing.T, d *datacenter) *server {
	t.Helper()
	for _, s := range d.servers {
		if s.cmd == nil {
			continue
		}
		var self map[string]any
		if _, err := apiClient(t, s).Raw().Query("/v1/agent/self", &self, nil); err != nil {
			continue
		}
		list, _ := self["KVReplication"].([]any)
		if len(list) == 1 && list[0].(map[string]any)["Running"] == true {
			return s
		}
	}
	return nil
}

// TestKVReplicationSurvivesLeaderKill replicates dc1's seq/ into dc2's
// copy/ while a writer puts sequenced keys in dc1, and kills dc2's kv
// leader (the server running the replication) with SIGKILL mid-stream:
// every key arrives with its value, and none is written twice (each copy
// keeps CreateIndex == ModifyIndex, as each source key is written once).
func TestKVReplicationSurvivesLeaderKill(t *testing.T) {
	dc1 := newDatacenter(t, "127.0.22", "dc1", 1, "127.0.22.11:8302")
	dc2 := newDatacenter(t, "127.0.22", "dc2", 11, "127.0.22.1:8302")
	for _, s := range dc2.servers {
		s.extraArgs = append(s.extraArgs, "-hcl", `kv_replication {
  source_datacenter = "dc1"
  prefix = "seq/"
  destination_prefix = "copy/"
}`)
	}
	// The servers alone: the client agents have no part here.
	for _, s := range append(append([]*server{}, dc1.servers...), dc2.servers...) {
		s.launch()
	}
	dc1.waitLeader()
	dc2.waitLeader()

	const n = 400
	c1 := apiClient(t, dc1.servers[0])
	var wg sync.WaitGroup
	wg.Add(1)
	// The writer waits at half-way for the kill, so that the kill
	// falls mid-stream: keys replicated before it, keys written after.
	killed := make(chan struct{})
	go func() {
		defer wg.Done()
		for i := range n {
			if i == n/2 {
				<-killed
			}
			p := &api.KVPair{Key: fmt.Sprintf("seq/%04d", i), Value: []byte(strconv.Itoa(i))}
			// A write whose answer is lost may have applied: the
			// retry then writes the same value again, once more in
			// dc1, which the check below allows for.
			for {
				if _, err := c1.KV().Put(p, nil); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	var victim *server
	poll.Eventually(t, 60*time.Second, "dc2's kv leader replicating", func() (bool, string) {
		victim = replicatingServer(t, dc2)
		return victim != nil, "no server of dc2 runs the replication"
	})
	// Kill it once part of the keys are across.
	poll.Eventually(t, 60*time.Second, "the first keys replicated", func() (bool, string) {
		keys, _, err := apiClient(t, victim).KV().Keys("copy/", "", &api.QueryOptions{AllowStale: true})
		return err == nil && len(keys) >= n/4, fmt.Sprint(len(keys), err)
	})
	victim.kill()
	close(killed)
	t.Logf("killed %s, dc2's kv leader, mid-stream", victim.node)
	wg.Wait()

	var other *server
	for _, s := range dc2.servers {
		if s != victim {
			other = s
		}
	}
	c2 := apiClient(t, other)
	var pairs api.KVPairs
	poll.Eventually(t, 60*time.Second, "every key in dc2", func() (bool, string) {
		var err error
		pairs, _, err = c2.KV().List("copy/", nil)
		return err == nil && len(pairs) == n, fmt.Sprint(len(pairs), err)
	})
	for i, p := range pairs {
		want := fmt.Sprintf("copy/%04d", i)
		if p.Key != want || string(p.Value) != strconv.Itoa(i) {
			t.Errorf("key %d: %s=%q, want %s=%d", i, p.Key, p.Value, want, i)
			continue
		}
		src, _, err := c1.KV().Get(fmt.Sprintf("seq/%04d", i), nil)
		if err != nil || src == nil {
			t.Fatalf("source key %d: %+v %v", i, src, err)
		}
		// Written once in dc1 (CreateIndex == ModifyIndex there), so
		// written once here.
		if src.CreateIndex == src.ModifyIndex && p.CreateIndex != p.ModifyIndex {
			t.Errorf("%s written more than once: CreateIndex %d, ModifyIndex %d", p.Key, p.CreateIndex, p.ModifyIndex)
		}
	}
	if replicatingServer(t, dc2) == victim {
		t.Errorf("the killed server still runs the replication")
	}
}
