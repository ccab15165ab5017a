package agent_test

import (
	"net"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
)

func hostOf(t *testing.T, addr string) string {
	t.Helper()
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return h
}

// The client listeners (HTTP, HTTPS, DNS) bind the client address, the
// cluster's (Raft, Serf) the bind address; a -dev agent's NATS is a client
// listener, a server's NATS is the client agents' way in, on the bind
// address (see docs/security.md).
func TestListenAddresses(t *testing.T) {
	// 127.0.0.2 is loopback too on Linux, and not the client address.
	server := agenttest.Start(t, "-server", "-bootstrap", "-data-dir="+t.TempDir(), "-bind=127.0.0.2", "-client=127.0.0.1")
	self, err := agenttest.Client(t, server.HTTPAddr()).Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	debug := self["DebugConfig"]
	checks := map[string]string{
		"HTTP":            hostOf(t, server.HTTPAddr()),
		"DNS":             hostOf(t, server.DNSAddr()),
		"RPCBindAddr":     debug["RPCBindAddr"].(string),
		"SerfBindAddrLAN": debug["SerfBindAddrLAN"].(string),
		"NATS":            hostOf(t, server.NATSURL()[len("nats://"):]),
	}
	want := map[string]string{"HTTP": "127.0.0.1", "DNS": "127.0.0.1", "RPCBindAddr": "tcp://127.0.0.2:",
		"SerfBindAddrLAN": "tcp://127.0.0.2:", "NATS": "127.0.0.2"}
	for k, got := range checks {
		w := want[k]
		if len(got) < len(w) || got[:len(w)] != w {
			t.Errorf("%s listens on %q, want %q", k, got, w)
		}
	}

	dev := agenttest.Start(t, "-dev", "-bind=127.0.0.2", "-client=127.0.0.1")
	if h := hostOf(t, dev.NATSURL()[len("nats://"):]); h != "127.0.0.1" {
		t.Errorf("a -dev agent's NATS listens on %s, want the client address", h)
	}
}
