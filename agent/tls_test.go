package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// tlsHCL is a tls.defaults block with ca, cert and key, and the verify
// settings given as HCL ("verify_incoming = true").
func tlsHCL(caFile, cert, key, verify string) string {
	return fmt.Sprintf(`tls { defaults { ca_file = %q cert_file = %q key_file = %q %s } }`, caFile, cert, key, verify)
}

func httpsClient(t *testing.T, addr string, tc api.TLSConfig) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr, Scheme: "https", TLSConfig: tc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// HTTPS with verify_incoming: the official client with the CA and a
// client certificate gets in; without a certificate, or with one of
// another CA, or not trusting the agent's CA, it does not. ports.http = -1
// closes plain HTTP.
func TestHTTPSVerifyIncoming(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	clientCert, clientKey := ca.Cert(t, tlsutil.KindCLI, "dc1")
	otherCert, otherKey := other.Cert(t, tlsutil.KindCLI, "dc1")
	a := agenttest.Start(t, "-dev", "-http-port=-1", "-https-port=0",
		"-hcl", tlsHCL(ca.CertFile, cert, key, "verify_incoming = true"))

	if a.HTTPAddr() != "" {
		t.Fatalf("plain HTTP listens on %s with ports.http = -1", a.HTTPAddr())
	}
	addr := a.HTTPSAddr()
	good := httpsClient(t, addr, api.TLSConfig{CAFile: ca.CertFile, CertFile: clientCert, KeyFile: clientKey})
	self, err := good.Agent().Self()
	if err != nil {
		t.Fatalf("with the CA and a client certificate: %v", err)
	}
	debug := self["DebugConfig"]
	if port, _ := debug["HTTPSPort"].(float64); fmt.Sprint(int(port)) != addr[strings.LastIndex(addr, ":")+1:] {
		t.Errorf("DebugConfig.HTTPSPort %v, listening on %s", debug["HTTPSPort"], addr)
	}
	if addrs, _ := debug["HTTPAddrs"].([]any); len(addrs) != 0 {
		t.Errorf("DebugConfig.HTTPAddrs %v with ports.http = -1", addrs)
	}
	if _, err := good.KV().Put(&api.KVPair{Key: "over/https", Value: []byte("x")}, nil); err != nil {
		t.Fatalf("write over HTTPS: %v", err)
	}

	refused := map[string]api.TLSConfig{
		"no client certificate":            {CAFile: ca.CertFile},
		"client certificate of another CA": {CAFile: ca.CertFile, CertFile: otherCert, KeyFile: otherKey},
		"agent's CA not trusted":           {CAFile: other.CertFile, CertFile: clientCert, KeyFile: clientKey},
	}
	for name, tc := range refused {
		if _, err := httpsClient(t, addr, tc).Agent().Self(); err == nil {
			t.Errorf("%s: the request went through", name)
		}
	}

	// Plain HTTP to the HTTPS port gets nothing from the API.
	resp, err := http.Get("http://" + addr + "/v1/agent/self")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to the HTTPS port answered 200: %s", body)
		}
	}
}

// Without verify_incoming HTTPS serves any client that trusts the agent's
// certificate, and plain HTTP stays open beside it.
func TestHTTPSWithoutVerifyIncoming(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	a := agenttest.Start(t, "-dev", "-https-port=0", "-hcl", tlsHCL(ca.CertFile, cert, key, ""))
	if _, err := httpsClient(t, a.HTTPSAddr(), api.TLSConfig{CAFile: ca.CertFile}).Agent().Self(); err != nil {
		t.Fatalf("HTTPS without a client certificate: %v", err)
	}
	if _, err := agenttest.Client(t, a.HTTPAddr()).Agent().Self(); err != nil {
		t.Fatalf("plain HTTP beside HTTPS: %v", err)
	}
}
