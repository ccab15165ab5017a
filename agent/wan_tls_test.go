package agent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// startTLSDC starts a one-server datacenter with the WAN on and
// tls.internal_rpc verifying both ways with a server certificate of ca
// (and trusting ca alone).
func startTLSDC(t *testing.T, ca *tlstest.CA, dc string) *api.Client {
	t.Helper()
	cert, key := ca.Cert(t, tlsutil.KindServer, dc)
	_, c := startDC(t, dc, "-hcl", internalRPCHCL(ca.CertFile, cert, key))
	return c
}

// logLines follows c's log at level from now on, as `herald monitor`
// does, until the test ends.
func logLines(t *testing.T, c *api.Client, level string) func() string {
	t.Helper()
	stop := make(chan struct{})
	lines, err := c.Agent().Monitor(level, stop, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var all strings.Builder
	go func() {
		for l := range lines {
			mu.Lock()
			all.WriteString(l + "\n")
			mu.Unlock()
		}
	}()
	// Not waiting for the stream to end: the client notices stop only at
	// its next line, which can be a minute away. It ends when the agent
	// closes it, in the agent's own cleanup, which runs after this one.
	t.Cleanup(func() { close(stop) })
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return all.String()
	}
}

// TestWANGatewayTLS federates datacenters whose servers verify TLS both
// ways (tls.internal_rpc): with server certificates of the same CA the
// gateways link and ?dc= requests cross; a datacenter whose certificate
// is of another CA joins the WAN pool (gossip knows nothing of TLS) but
// its gateway is refused, its requests answer 500 No path to datacenter,
// and the log says why.
func TestWANGatewayTLS(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	c1 := startTLSDC(t, ca, "dc1")
	c2 := startTLSDC(t, ca, "dc2")
	c3 := startTLSDC(t, other, "dc3")
	log1 := logLines(t, c1, "warn")
	for _, c := range []*api.Client{c2, c3} {
		if err := c1.Agent().Join(wanAddr(t, c), true); err != nil {
			t.Fatalf("join -wan: %v", err)
		}
	}
	poll.Eventually(t, 30*time.Second, "a KV write to dc2 through dc1, over TLS", func() (bool, string) {
		_, err := c1.KV().Put(&api.KVPair{Key: "tls", Value: []byte("dc2")}, &api.WriteOptions{Datacenter: "dc2"})
		return err == nil, fmt.Sprint(err)
	})
	if p, _, err := c2.KV().Get("tls", &api.QueryOptions{Datacenter: "dc1"}); err != nil || p != nil {
		t.Errorf("dc1's KV from dc2: %+v %v, want no key and no error", p, err)
	}
	if p, _, err := c2.KV().Get("tls", nil); err != nil || p == nil || string(p.Value) != "dc2" {
		t.Errorf("dc2's own read: %+v %v", p, err)
	}
	poll.Eventually(t, 30*time.Second, "dc3 in dc1's WAN pool", func() (bool, string) {
		dcs, err := c1.Catalog().Datacenters()
		return err == nil && len(dcs) == 3, fmt.Sprint(dcs, err)
	})
	for _, cross := range []struct {
		from *api.Client
		to   string
	}{{c1, "dc3"}, {c3, "dc1"}} {
		_, _, err := cross.from.KV().Get("tls", &api.QueryOptions{Datacenter: cross.to})
		if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "No path to datacenter") {
			t.Errorf("?dc=%s across CAs: %v, want a 500 No path to datacenter", cross.to, err)
		}
	}
	poll.Eventually(t, 30*time.Second, "dc1's log says why dc3's gateway is refused", func() (bool, string) {
		log := log1()
		return strings.Contains(log, "TLS gateway handshake error") &&
			(strings.Contains(log, "certificate signed by unknown authority") || strings.Contains(log, "bad certificate")), log
	})
}

// fakeServer is a WAN member of a datacenter with a NATS gateway that
// answers every ?dc= request for it with its name, made of the real
// parts (the WAN pool's gossip, a gateway) but with whatever certificate
// the test gives it: the server an attacker would put at the address of
// another datacenter's server.
type fakeServer struct {
	served atomic.Int64
}

// startFakeServer starts node of dc presenting a server certificate of
// ca for certDC, joins it to the WAN pool at join, and has its gateway
// dial dc1's server s-dc1.
func startFakeServer(t *testing.T, ca *tlstest.CA, node, dc, certDC, join string) *fakeServer {
	t.Helper()
	cert, key := ca.Cert(t, tlsutil.KindServer, certDC)
	tc, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key,
		VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true}.WANConfig("consul")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := wan.StartGateway(wan.GatewayConfig{Name: wan.GatewayName(node + "." + dc), Host: "127.0.0.1",
		Advertise: "127.0.0.1", TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Shutdown)
	f := &fakeServer{}
	stop, err := wan.ServeHTTP(gw.Conn(), wan.SubjectHTTP(dc), func(*wan.HTTPRequest) *wan.HTTPResponse {
		f.served.Add(1)
		return &wan.HTTPResponse{Status: http.StatusOK, Body: []byte(node)}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	m, err := membership.Start(membership.Config{NodeName: node + "." + dc, NodeID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(node)+len(dc)*31),
		Datacenter: dc, WAN: true, BindAddr: "127.0.0.1", Server: true, Timing: "local",
		ExtraTags: map[string]string{wan.TagGatewayPort: strconv.Itoa(gw.Port())}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	if _, err := m.Join([]string{join}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 20*time.Second, node+"'s gateway told of dc1's server", func() (bool, string) {
		for _, mb := range m.Members() {
			if mb.Name == "s-dc1.dc1" && mb.Tags[wan.TagGatewayPort] != "" {
				err := gw.SetRemotes(map[string]wan.Remote{wan.GatewayName(mb.Name): {
					Addr: net.JoinHostPort(mb.Addr, mb.Tags[wan.TagGatewayPort]), Datacenter: "dc1"}})
				return err == nil, fmt.Sprint(err)
			}
		}
		return false, fmt.Sprint(m.Members())
	})
	return f
}

// With verify_server_hostname, a server dials another datacenter's
// server expecting that datacenter's server name in its certificate, as
// Consul's WAN RPC does: a server holding a valid certificate of the CA
// for server.dc3.consul, at the address where dc2's server is expected,
// is refused, and ?dc=dc2 requests do not reach it; a server with dc2's
// certificate links, and they reach it.
func TestWANGatewayTLSChecksTheDatacenter(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	a1, c1 := startDC(t, "dc1", "-hcl", internalRPCHCL(ca.CertFile, cert, key))
	log1 := logLines(t, c1, "warn")
	join := wanAddr(t, c1)
	impostor := startFakeServer(t, ca, "s-dc2", "dc2", "dc3", join)
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + a1.HTTPAddr() + "/v1/kv/x?dc=dc2")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	poll.Eventually(t, 30*time.Second, "dc1's log says why dc2's server is refused", func() (bool, string) {
		return strings.Contains(log1(), "not server.dc2.consul"), log1()
	})
	if status, body := get(); status != http.StatusInternalServerError || !strings.Contains(body, "No path to datacenter") {
		t.Errorf("?dc=dc2 with a server of dc3 at dc2's address: %d %q, want 500 No path to datacenter", status, body)
	}

	startFakeServer(t, ca, "s-dc2b", "dc2", "dc2", join)
	poll.Eventually(t, 30*time.Second, "?dc=dc2 answered by the server with dc2's certificate", func() (bool, string) {
		status, body := get()
		return status == http.StatusOK && body == "s-dc2b", fmt.Sprint(status, body)
	})
	for range 5 {
		if status, body := get(); status != http.StatusOK || body != "s-dc2b" {
			t.Errorf("?dc=dc2: %d %q, want 200 from s-dc2b", status, body)
		}
	}
	if n := impostor.served.Load(); n != 0 {
		t.Errorf("the server of dc3 at dc2's address answered %d requests for dc2", n)
	}
}

// A server that restarts on its data with another gateway port links
// again over TLS: its gateway dials the others with their datacenters'
// names checked, and theirs dial its new address.
func TestWANGatewayTLSAfterRestartOnANewPort(t *testing.T) {
	ca := tlstest.NewCA(t)
	c1 := startTLSDC(t, ca, "dc1")
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc2")
	dir2 := t.TempDir()
	// The same Raft, NATS and Serf WAN ports across the restart (as a
	// server restarted on its configuration has), another gateway port.
	gwPort1, gwPort2 := agenttest.FreePort(t), agenttest.FreePort(t)
	for gwPort2 == gwPort1 {
		gwPort2 = agenttest.FreePort(t)
	}
	args := []string{"-data-dir=" + dir2, "-hcl", internalRPCHCL(ca.CertFile, cert, key),
		fmt.Sprintf("-server-port=%d", agenttest.FreePort(t)), fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)),
		fmt.Sprintf("-serf-wan-port=%d", agenttest.FreePort(t))}
	a2, c2 := startDC(t, "dc2", append(args, fmt.Sprintf("-nats-gateway-port=%d", gwPort1))...)
	federate(t, a2, c1, c2, "")
	if _, err := c1.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, &api.WriteOptions{Datacenter: "dc2"}); err != nil {
		t.Fatal(err)
	}
	a2.Shutdown()
	a2, c2 = startDC(t, "dc2", append(args, fmt.Sprintf("-nats-gateway-port=%d", gwPort2))...)
	federate(t, a2, c1, c2, "")
	poll.Eventually(t, 30*time.Second, "dc2's key read through dc1 after the restart", func() (bool, string) {
		p, _, err := c1.KV().Get("k", &api.QueryOptions{Datacenter: "dc2"})
		return err == nil && p != nil && string(p.Value) == "v", fmt.Sprint(p, err)
	})
	members, err := c1.Agent().Members(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Name == "s-dc2.dc2" && m.Tags[wan.TagGatewayPort] != strconv.Itoa(gwPort2) {
			t.Errorf("dc2's gateway port as dc1 sees it: %q, want %d", m.Tags[wan.TagGatewayPort], gwPort2)
		}
	}
}
