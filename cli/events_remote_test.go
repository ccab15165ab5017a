package cli

import (
	"context"
	"fmt"
	"strconv"
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

// startFederated starts two one-server datacenters, dc1 and dc2, joined in
// the WAN pool, and waits until dc2 reads dc1's event feed.
func startFederated(t *testing.T) (c1 *api.Client, a2 *agent.Agent) {
	t.Helper()
	start := func(dc string) *agent.Agent {
		return agenttest.Start(t, "-server", "-bootstrap", "-data-dir="+t.TempDir(), "-node=s-"+dc, "-datacenter="+dc,
			"-serf-wan-port=0", "-nats-gateway-port=0")
	}
	a1 := start("dc1")
	a2 = start("dc2")
	c1, c2 := agenttest.Client(t, a1.HTTPAddr()), agenttest.Client(t, a2.HTTPAddr())
	var addr string
	poll.Eventually(t, 20*time.Second, "dc1's WAN member", func() (bool, string) {
		members, err := c1.Agent().Members(true)
		if err != nil || len(members) != 1 {
			return false, fmt.Sprint(members, err)
		}
		addr = fmt.Sprintf("%s:%d", members[0].Addr, members[0].Port)
		return true, ""
	})
	if err := c2.Agent().Join(addr, true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	poll.Eventually(t, 30*time.Second, "dc1's event feed from dc2", func() (bool, string) {
		resp, err := a2.FetchEvents(context.Background(), &wan.EventsRequest{Datacenter: "dc1", Shard: event.ShardKV})
		return err == nil && resp.Error == "", fmt.Sprint(resp, err)
	})
	return c1, a2
}

// TestEventsOtherDatacenter follows dc1's events from dc2's agent, as
// `herald events -datacenter=dc1` there: from an index, with a subject
// filter, and from now on.
func TestEventsOtherDatacenter(t *testing.T) {
	c1, a2 := startFederated(t)
	env := map[string]string{"HERALD_HTTP_ADDR": a2.HTTPAddr()}

	i1 := putKey(t, c1, "app/a", "1")
	putKey(t, c1, "other/x", "1")
	putKey(t, c1, "app/b", "2")
	r, cancel := startEvents(env, "-datacenter=dc1", "-from-index="+strconv.FormatUint(i1, 10), "-subject=herald.dc1.kv.app.>")
	defer cancel()
	if got := eventKeys(pollEvents(t, r, 2)); got != "kv.updated:app/a kv.updated:app/b" {
		t.Fatalf("events from index %d: %s", i1, got)
	}
	putKey(t, c1, "other/y", "1")
	putKey(t, c1, "app/c", "3")
	if got := eventKeys(pollEvents(t, r, 3)); got != "kv.updated:app/a kv.updated:app/b kv.updated:app/c" {
		t.Errorf("followed events: %s", got)
	}
	cancel()
	if code := <-r.code; code != 0 {
		t.Errorf("exit code %d after the interrupt; stderr %q", code, r.stderr)
	}

	// From now on: only what dc1 writes after the command started.
	now, cancelNow := startEvents(env, "-datacenter=dc1", "-shard=kv")
	defer cancelNow()
	poll.Eventually(t, lockWait, "the command following", func() (bool, string) {
		return strings.Contains(now.stderr.String(), "Following HERALD_dc1_kv"), now.stderr.String()
	})
	putKey(t, c1, "app/d", "4")
	if got := eventKeys(pollEvents(t, now, 1)); got != "kv.updated:app/d" {
		t.Errorf("events from now on: %s", got)
	}
}
