package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
	"github.com/heraldhq/herald/watch"
)

// A server's NATS with tls.internal_rpc takes only TLS clients with a
// certificate of the CA; a client agent with its certificate reaches the
// servers through it, writes and reads; the server checks nothing less.
func TestNATSTLSClientAgent(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	server := startTLSServer(t, ca, "nats-tls-server", 1, "")
	poll.Eventually(t, 30*time.Second, "the server elects itself", func() (bool, string) {
		_, err := server.client.KV().Put(&api.KVPair{Key: "tls/server", Value: []byte("s")}, nil)
		return err == nil, fmt.Sprint(err)
	})
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", server.natsPort)

	// Directly: no TLS, TLS without a certificate, a certificate of
	// another CA are all refused; the CA's client certificate is taken.
	clientCert, clientKey := ca.Cert(t, tlsutil.KindClient, "dc1")
	otherCert, otherKey := other.Cert(t, tlsutil.KindClient, "dc1")
	attempts := map[string]*tlsutil.Protocol{
		"plain":                     nil,
		"TLS without certificate":   {CAFile: ca.CertFile, VerifyOutgoing: true, VerifyServerHostname: true},
		"certificate of another CA": {CAFile: ca.CertFile, CertFile: otherCert, KeyFile: otherKey, VerifyOutgoing: true},
	}
	for name, p := range attempts {
		opts := []nats.Option{nats.Timeout(10 * time.Second)}
		if p != nil {
			tc, err := p.ClientConfig("dc1", "consul.")
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, nats.Secure(tc))
		}
		nc, err := nats.Connect(natsURL, opts...)
		if err == nil {
			// TLS 1.3 reports a refused certificate after the handshake:
			// the server closes the connection.
			err = nc.Flush()
			nc.Close()
		}
		if err == nil {
			t.Errorf("%s: connected to the server's NATS", name)
		}
	}

	client := agenttest.Start(t, "-data-dir="+t.TempDir(), "-node=nats-tls-client",
		fmt.Sprintf("-retry-join=127.0.0.1:%d", server.serfPort), "-hcl", internalRPCHCL(ca.CertFile, clientCert, clientKey))
	c := agenttest.Client(t, client.HTTPAddr())
	if _, err := c.KV().Put(&api.KVPair{Key: "tls/client", Value: []byte("c")}, nil); err != nil {
		t.Fatalf("write through the client agent: %v", err)
	}
	poll.Eventually(t, 30*time.Second, "the client agent has the server's write", func() (bool, string) {
		v := kvValue(c, "tls/server")
		return v == "s", v
	})
	if v := kvValue(server.client, "tls/client"); v != "c" {
		t.Fatalf("the server has tls/client = %q", v)
	}
	if url := client.NATSURL(); url == "" {
		t.Fatal("the client agent has no NATS connection")
	}
}

// Three servers with nats_routes and tls.internal_rpc form one NATS
// cluster over TLS routes: the event streams are replicated to all three.
// Each server has an address of its own (a route to an agent's own
// address is not a route).
func TestNATSRoutesTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	binds := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	clusterPorts := []int{freePortOn(t, binds[0]), freePortOn(t, binds[1]), freePortOn(t, binds[2])}
	var routes []string
	for i, p := range clusterPorts {
		routes = append(routes, fmt.Sprintf("-nats-route=%s:%d", binds[i], p))
	}
	var servers []*tlsServer
	join := ""
	for i, p := range clusterPorts {
		extra := append([]string{fmt.Sprintf("-nats-cluster-port=%d", p)}, routes...)
		s := startTLSServerAt(t, ca, binds[i], fmt.Sprintf("routes-tls-%d", i), 3, join, extra...)
		if join == "" {
			join = fmt.Sprintf("%s:%d", binds[i], s.serfPort)
		}
		servers = append(servers, s)
	}
	cert, key := ca.Cert(t, tlsutil.KindClient, "dc1")
	tc, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key, VerifyOutgoing: true,
		VerifyServerHostname: true}.ClientConfig("dc1", "consul")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(fmt.Sprintf("nats://%s:%d", servers[2].bind, servers[2].natsPort), nats.Secure(tc))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 90*time.Second, "the kv stream on three servers", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, watch.StreamName("dc1", "kv"))
		if err != nil {
			return false, err.Error()
		}
		info := s.CachedInfo()
		if info.Cluster == nil {
			return false, "no cluster info"
		}
		current := 0
		for _, r := range info.Cluster.Replicas {
			if r.Current {
				current++
			}
		}
		return info.Cluster.Leader != "" && current == 2, fmt.Sprintf("replicas %d %+v", info.Config.Replicas, info.Cluster)
	})
}
