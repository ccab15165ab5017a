package agent_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

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
	done := make(chan struct{})
	go func() {
		defer close(done)
		for l := range lines {
			mu.Lock()
			all.WriteString(l + "\n")
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
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
