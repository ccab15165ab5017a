package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/version"
)

// The agent's node carries the meta Consul's agent adds, and
// /v1/agent/self's DebugConfig the addresses clients read: the official Go
// client's own test joins the agent at SerfAdvertiseAddrLAN.
func TestNodeMetaAndDebugConfigAsConsul(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node-meta=rack:r1")
	c := agenttest.Client(t, a.HTTPAddr())
	node, _, err := c.Catalog().Node(a.NodeName(), nil)
	if err != nil || node == nil {
		t.Fatalf("own node: %v %+v", err, node)
	}
	meta := node.Node.Meta
	if v, ok := meta["consul-network-segment"]; !ok || v != "" || meta["consul-version"] != version.ConsulCompat || meta["rack"] != "r1" {
		t.Fatalf("node meta %v", meta)
	}

	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if self["Meta"]["consul-version"] != version.ConsulCompat {
		t.Fatalf("self Meta %v", self["Meta"])
	}
	dbg := self["DebugConfig"]
	for _, key := range []string{"SerfAdvertiseAddrLAN", "SerfAdvertiseAddrWAN", "SerfBindAddrLAN", "RPCAdvertiseAddr"} {
		if s, _ := dbg[key].(string); !strings.HasPrefix(s, "tcp://") {
			t.Errorf("DebugConfig.%s = %v, want tcp://host:port", key, dbg[key])
		}
	}
	for _, key := range []string{"Datacenter", "NodeName", "NodeID", "DataDir", "AdvertiseAddrLAN"} {
		if s, _ := dbg[key].(string); s == "" {
			t.Errorf("DebugConfig.%s = %v", key, dbg[key])
		}
	}
	if h, _ := dbg["HTTPAddrs"].([]any); len(h) != 1 || h[0] != "tcp://"+a.HTTPAddr() {
		t.Errorf("DebugConfig.HTTPAddrs = %v, want [tcp://%s]", dbg["HTTPAddrs"], a.HTTPAddr())
	}
	if d, _ := dbg["DNSAddrs"].([]any); len(d) != 2 {
		t.Errorf("DebugConfig.DNSAddrs = %v", dbg["DNSAddrs"])
	}
	// As the official client's test does: join ourself there.
	addr := dbg["SerfAdvertiseAddrLAN"].(string)[len("tcp://"):]
	if err := c.Agent().Join(addr, false); err != nil {
		t.Fatalf("join %s: %v", addr, err)
	}
}

// A fresh -server -bootstrap agent names a leader in /v1/status/leader as
// soon as any write succeeds: clients (the npm consul package) take "" for
// no leader at all.
func TestStatusLeaderOnceAWriteSucceeds(t *testing.T) {
	cfg, err := config.Load([]string{
		"-server", "-bootstrap", "-data-dir=" + t.TempDir(), "-node=fresh",
		"-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port=0", "-dns-port=0", "-nats-port=0", "-serf-lan-port=0", "-serf-wan-port=-1",
		"-server-port=" + strconv.Itoa(agenttest.FreePort(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := agent.New(cfg, nil)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Shutdown)
	c := agenttest.Client(t, a.HTTPAddr())
	poll.Eventually(t, 30*time.Second, "a KV write succeeds", func() (bool, string) {
		_, err := c.KV().Put(&api.KVPair{Key: "first", Value: []byte("x")}, nil)
		return err == nil, fmt.Sprint(err)
	})
	leader, err := c.Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("status/leader right after the first write: %q %v", leader, err)
	}
}

// addresses { http = "unix:///path" } serves the HTTP API on a unix socket
// with the unix_sockets mode, and Consul's client reaches it there.
func TestHTTPOnUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "hsock") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "http.sock")
	a := agenttest.Start(t, "-dev", "-hcl", `addresses { http = "unix://`+sock+`" }
unix_sockets { mode = "0600" }`)
	if a.HTTPAddr() != "unix://"+sock {
		t.Fatalf("HTTPAddr %q", a.HTTPAddr())
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v", sock, err, fi)
	}
	c, err := api.NewClient(&api.Config{Address: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "over-unix", Value: []byte("yes")}, nil); err != nil {
		t.Fatal(err)
	}
	p, _, err := c.KV().Get("over-unix", nil)
	if err != nil || p == nil || string(p.Value) != "yes" {
		t.Fatalf("get over the socket: %v %+v", err, p)
	}
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := self["DebugConfig"]["HTTPAddrs"].([]any); len(h) != 1 || h[0] != "unix://"+sock {
		t.Fatalf("DebugConfig.HTTPAddrs %v", self["DebugConfig"]["HTTPAddrs"])
	}
}
