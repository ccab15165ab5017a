package tlsutil_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// WANConfig serves both ends of a link between servers of different
// datacenters: servers of any datacenter of the CA link, with their
// certificates checked both ways; another CA's server, a client agent's
// certificate or none at all do not.
func TestWANConfig(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	wan := func(certOf *tlstest.CA, kind tlsutil.Kind, dc string) *tls.Config {
		t.Helper()
		cert, key := certOf.Cert(t, kind, dc)
		c, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key,
			VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true}.WANConfig("consul.")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dc1, dc2 := wan(ca, tlsutil.KindServer, "dc1"), wan(ca, tlsutil.KindServer, "dc2")
	if err := handshake(t, dc1, dc2); err != nil {
		t.Errorf("dc2 dials dc1: %v", err)
	}
	if err := handshake(t, dc2, dc1); err != nil {
		t.Errorf("dc1 dials dc2: %v", err)
	}
	cases := []struct {
		name           string
		server, client *tls.Config
		want           string
	}{
		{"a server of another CA dials", dc1, wan(other, tlsutil.KindServer, "dc3"), ""},
		{"dialing a server of another CA", wan(other, tlsutil.KindServer, "dc3"), dc1, "unknown authority"},
		{"dialing a client agent's certificate", wan(ca, tlsutil.KindClient, "dc2"), dc1, "not a server's"},
		{"dialing without a certificate", dc1, &tls.Config{InsecureSkipVerify: true}, ""},
	}
	for _, tc := range cases {
		err := handshake(t, tc.server, tc.client)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: handshake error %v, want one with %q", tc.name, err, tc.want)
		}
	}

	// Without verify_outgoing the dialer checks nothing; without
	// verify_incoming the listener asks for no certificate.
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	lax, err := tlsutil.Protocol{CertFile: cert, KeyFile: key}.WANConfig("consul")
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, wan(other, tlsutil.KindClient, "dc3"), lax); err != nil {
		t.Errorf("without verify_outgoing: %v", err)
	}
	if err := handshake(t, lax, &tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Errorf("without verify_incoming: %v", err)
	}
	if _, err := (tlsutil.Protocol{CAFile: ca.CertFile, VerifyOutgoing: true}).WANConfig("consul"); err == nil {
		t.Error("a WAN TLS without a certificate was made")
	}
}
