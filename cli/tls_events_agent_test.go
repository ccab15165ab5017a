package cli

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// herald events follows an agent whose NATS takes only TLS clients with a
// certificate of its CA, given the CA and a certificate the CLI's way
// (CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY); it finds the
// stream by asking the agent over HTTPS.
func TestEventsOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	cliCert, cliKey := ca.Cert(t, tlsutil.KindCLI, "dc1")
	a := agenttest.Start(t, "-dev", "-http-port=-1", "-https-port=0", "-hcl", fmt.Sprintf(
		`tls { defaults { ca_file = %q cert_file = %q key_file = %q verify_incoming = true verify_outgoing = true } }`,
		ca.CertFile, cert, key))
	env := map[string]string{
		"CONSUL_HTTP_ADDR": "https://" + a.HTTPSAddr(), "CONSUL_CACERT": ca.CertFile,
		"CONSUL_CLIENT_CERT": cliCert, "CONSUL_CLIENT_KEY": cliKey,
	}
	c, err := (&httpFlags{}).client(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	i1 := putKey(t, c, "tls/1", "one")
	r, cancel := startEvents(env, "-from-index="+strconv.FormatUint(i1, 10))
	defer cancel()
	if got := eventKeys(pollEvents(t, r, 1)); got != "kv.updated:tls/1" {
		t.Fatalf("events %s", got)
	}
}
