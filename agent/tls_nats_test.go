package agent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
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
