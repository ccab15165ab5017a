package agent_test

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/testutil/poll"
)

// holdPort listens on a loopback port for the rest of the test, as another
// process holding it would.
func holdPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// loadConfig loads an agent's config from flags, with loopback listeners
// on ports of the system's choosing, as agenttest.Start does.
func loadConfig(t *testing.T, args ...string) *config.Config {
	t.Helper()
	base := []string{"-bind=127.0.0.1", "-client=127.0.0.1", "-http-port=0", "-dns-port=0",
		"-serf-lan-port=0", "-serf-wan-port=-1", "-server-port=" + strconv.Itoa(agenttest.FreePort(t))}
	cfg, err := config.Load(append(base, args...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func urlPort(t *testing.T, raw string) int {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("URL %q: %v", raw, err)
	}
	port, _ := strconv.Atoi(u.Port())
	return port
}

// A NATS client port left at its default that another process holds is
// replaced by one the system picks, and that port is what the agent
// advertises: in /v1/agent/self and in gossip, through which a client
// agent finds the server's NATS and follows its state.
func TestDefaultNATSPortTakenFallsBackAndIsAdvertised(t *testing.T) {
	taken := holdPort(t)
	cfg := loadConfig(t, "-dev", "-node=server1")
	if cfg.Ports.NATSSet {
		t.Fatal("no flag set ports.nats, yet the config says it was chosen")
	}
	cfg.Ports.NATS = taken // the default, as if another process held 4222
	srv := agent.New(cfg, nil)
	if err := srv.Start(); err != nil {
		t.Fatalf("an agent whose default NATS port is taken did not start: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	bound := urlPort(t, srv.NATSURL())
	if bound == 0 || bound == taken {
		t.Fatalf("NATS URL %s: want a port other than the taken %d", srv.NATSURL(), taken)
	}

	c := agenttest.Client(t, srv.HTTPAddr())
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if got := self["Config"]["EventStreamURL"]; got != srv.NATSURL() {
		t.Errorf("/v1/agent/self Config.EventStreamURL = %v, want %s", got, srv.NATSURL())
	}
	if got := self["DebugConfig"]["NATSPort"]; got != float64(bound) {
		t.Errorf("/v1/agent/self DebugConfig.NATSPort = %v, want %d", got, bound)
	}
	var me *api.AgentMember
	poll.True(t, 10*time.Second, "the server lists itself in gossip", func() bool {
		me = membersOf(t, c)["server1"]
		return me != nil
	})
	if me.Tags["nats_port"] != strconv.Itoa(bound) {
		t.Fatalf("gossip tag nats_port = %q, want the bound %d", me.Tags["nats_port"], bound)
	}

	// A client agent finds the server's NATS through that tag.
	if _, err := c.KV().Put(&api.KVPair{Key: "fallback", Value: []byte("found")}, nil); err != nil {
		t.Fatal(err)
	}
	client := agenttest.Start(t, "-node=client1", "-data-dir="+t.TempDir(),
		"-retry-join="+net.JoinHostPort(me.Addr, strconv.Itoa(int(me.Port))))
	cc := agenttest.Client(t, client.HTTPAddr())
	poll.Eventually(t, 15*time.Second, "the client agent reads the server's key", func() (bool, string) {
		kv, _, err := cc.KV().Get("fallback", nil)
		if err != nil || kv == nil {
			return false, fmt.Sprint(kv, err)
		}
		return string(kv.Value) == "found", string(kv.Value)
	})
	if got := urlPort(t, client.NATSURL()); got != bound {
		t.Errorf("the client agent follows NATS at %s, want port %d", client.NATSURL(), bound)
	}
}

// A NATS port the operator chose is strict: taken, the agent does not
// start, and says which key to change.
func TestChosenNATSPortTakenFails(t *testing.T) {
	taken := holdPort(t)
	cfg := loadConfig(t, "-dev", "-nats-port="+strconv.Itoa(taken))
	if !cfg.Ports.NATSSet {
		t.Fatal("-nats-port did not mark ports.nats as chosen")
	}
	a := agent.New(cfg, nil)
	err := a.Start()
	if err == nil {
		a.Shutdown()
		t.Fatalf("the agent started although its chosen NATS port %d is taken", taken)
	}
	if !strings.Contains(err.Error(), "ports.nats "+strconv.Itoa(taken)+" is already in use") {
		t.Fatalf("error does not name the key and port: %v", err)
	}
}

// The NATS cluster port follows the same rule: left at its default and
// taken, the server listens for routes on another and reports it; chosen
// and taken, the server does not start.
func TestNATSClusterPortTaken(t *testing.T) {
	taken := holdPort(t)
	// A route to another address makes this server's NATS clustered; the
	// server behind it need not exist for NATS to start.
	args := []string{"-server", "-bootstrap", "-nats-port=0", "-data-dir=" + t.TempDir(), "-nats-route=127.0.0.2:6222"}

	cfg := loadConfig(t, args...)
	cfg.Ports.NATSCluster = taken // the default, as if another process held 6222
	a := agent.New(cfg, nil)
	if err := a.Start(); err != nil {
		t.Fatalf("a server whose default NATS cluster port is taken did not start: %v", err)
	}
	t.Cleanup(a.Shutdown)
	c := agenttest.Client(t, a.HTTPAddr())
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := self["DebugConfig"]["NATSClusterPort"].(float64)
	if got == 0 || int(got) == taken {
		t.Fatalf("DebugConfig.NATSClusterPort = %v: want the port bound instead of the taken %d", got, taken)
	}
	if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(got)))); err == nil {
		ln.Close()
		t.Fatalf("nothing listens on the reported NATS cluster port %v", got)
	}

	cfg = loadConfig(t, append(args, "-nats-cluster-port="+strconv.Itoa(taken))...)
	cfg.DataDir = t.TempDir()
	b := agent.New(cfg, nil)
	err = b.Start()
	if err == nil {
		b.Shutdown()
		t.Fatalf("the server started although its chosen NATS cluster port %d is taken", taken)
	}
	if !strings.Contains(err.Error(), "ports.nats_cluster "+strconv.Itoa(taken)+" is already in use") {
		t.Fatalf("error does not name the key and port: %v", err)
	}
}
