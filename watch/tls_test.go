package watch

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// Two servers with ClusterTLS form their routes over TLS (each side
// verifies the other's certificate), and a TLS client port takes a client
// with the CA's certificate and refuses one without.
func TestServerTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	var verified atomic.Int64
	routesTLS := func() *tls.Config {
		cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
		p := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key, VerifyIncoming: true, VerifyOutgoing: true}
		c, err := p.ClientConfig("dc1", "consul")
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		c.ClientCAs, c.ClientAuth = s.ClientCAs, s.ClientAuth
		check := c.VerifyConnection
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			verified.Add(1)
			return check(cs)
		}
		return c
	}
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	clientTLS, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key, VerifyIncoming: true}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 4)
	routes := []string{fmt.Sprintf("nats-route://127.0.0.1:%d", ports[0]), fmt.Sprintf("nats-route://127.0.0.1:%d", ports[1])}
	var servers []*EmbeddedServer
	for i := range 2 {
		s, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: ports[2+i], StoreDir: t.TempDir(),
			ServerName: fmt.Sprintf("tls%d", i), Logger: quietLogger(), ClusterName: "herald-dc1",
			ClusterHost: "127.0.0.1", ClusterPort: ports[i], Routes: routes, TLS: clientTLS, ClusterTLS: routesTLS()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Shutdown)
		servers = append(servers, s)
	}
	poll.True(t, clusterWait, "the TLS routes between the servers", func() bool {
		return servers[0].NumRoutes() >= 1 && servers[1].NumRoutes() >= 1
	})
	if verified.Load() == 0 {
		t.Fatal("the routes formed without verifying a certificate")
	}

	clientCert, clientKey := ca.Cert(t, tlsutil.KindClient, "dc1")
	good, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: clientCert, KeyFile: clientKey,
		VerifyOutgoing: true, VerifyServerHostname: true}.ClientConfig("dc1", "consul")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(servers[0].ClientURL(), nats.Secure(good))
	if err != nil {
		t.Fatalf("a client with the CA's certificate: %v", err)
	}
	nc.Close()
	bare, err := tlsutil.Protocol{CAFile: ca.CertFile, VerifyOutgoing: true}.ClientConfig("dc1", "consul")
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(servers[0].ClientURL(), nats.Secure(bare)); err == nil {
		if err = nc.Flush(); err == nil {
			t.Error("a client without a certificate connected")
		}
		nc.Close()
	}
}
