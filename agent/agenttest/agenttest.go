package agenttest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/testutil/freeport"
	"github.com/heraldhq/herald/testutil/poll"
)

// FreePort returns a loopback TCP port that was free a moment ago. Raft
// needs its port up front (Dragonboat records the address), so it cannot be
// left to the kernel at bind time.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Start starts an agent from agent flags (as `herald agent` takes them) plus
// loopback ephemeral ports for every listener, waits until it has a leader,
// and stops it at the end of the test.
func Start(t testing.TB, args ...string) *agent.Agent {
	t.Helper()
	return StartPrepared(t, nil, args...)
}

// StartPrepared is Start with prepare, if not nil, called on the agent
// before it starts (to give it what flags cannot, such as a resolver).
func StartPrepared(t testing.TB, prepare func(*agent.Agent), args ...string) *agent.Agent {
	t.Helper()
	base := []string{
		"-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port=0", "-dns-port=0", "-nats-port=0", "-serf-lan-port=0", "-serf-wan-port=-1",
		"-server-port=" + strconv.Itoa(FreePort(t)),
	}
	cfg, err := config.Load(append(base, args...))
	if err != nil {
		t.Fatalf("agent config: %v", err)
	}
	a := agent.New(cfg, nil)
	if prepare != nil {
		prepare(a)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(a.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// WaitLeader gives up on a shard that has been leaderless for a while;
	// a loaded test machine may take longer than that to elect.
	for {
		err := a.WaitLeader(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("agent has no leader: %v", err)
		}
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatalf("agent cannot register itself in the catalog: %v", err)
	}
	return a
}

// StartServers starts a cluster of n servers, named <prefix>-s0 and on,
// plus args, and returns an official client of each once each has a
// leader. They are started together, as Start waits for a leader, which a
// server of a new cluster has only once the others are there.
func StartServers(t testing.TB, n int, prefix string, args ...string) []*api.Client {
	t.Helper()
	serf := make([]int, n)
	for i := range serf {
		serf[i] = FreePort(t)
	}
	var clients []*api.Client
	for i := range serf {
		cfg, err := config.Load(append([]string{
			"-bind=127.0.0.1", "-client=127.0.0.1", "-http-port=0", "-dns-port=0", "-nats-port=0", "-serf-wan-port=-1",
			fmt.Sprintf("-server-port=%d", FreePort(t)), fmt.Sprintf("-serf-lan-port=%d", serf[i]),
			"-server", fmt.Sprintf("-bootstrap-expect=%d", n), "-data-dir=" + t.TempDir(), fmt.Sprintf("-node=%s-s%d", prefix, i),
			fmt.Sprintf("-retry-join=127.0.0.1:%d", serf[0]), "-hcl", "performance { raft_multiplier = 1 }",
		}, args...))
		if err != nil {
			t.Fatal(err)
		}
		a := agent.New(cfg, nil)
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Shutdown)
		clients = append(clients, Client(t, a.HTTPAddr()))
	}
	for i, c := range clients {
		poll.Eventually(t, 60*time.Second, fmt.Sprintf("server %d has a leader", i), func() (bool, string) {
			l, err := c.Status().Leader()
			return err == nil && l != "", fmt.Sprint(l, err)
		})
	}
	return clients
}

// StartDev starts a -dev agent and returns its HTTP address.
func StartDev(t testing.TB) string {
	t.Helper()
	return Start(t, "-dev").HTTPAddr()
}

// Client is the official Go client for the agent at addr (an HTTPAddr),
// as Consul's users build it.
func Client(t testing.TB, addr string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
