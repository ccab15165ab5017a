package tlsutil_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// WANConfig serves both ends of a link between servers of different
// datacenters: dialing a server of a datacenter (Dial), its certificate
// must be the CA's and name that datacenter's server; a server of another
// datacenter, another CA's, a client agent's certificate or none at all
// do not link; dialing a server whose datacenter is unknown (Config)
// links with none.
func TestWANConfig(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	strict := func(certOf *tlstest.CA, kind tlsutil.Kind, dc string) *tlsutil.WAN {
		t.Helper()
		cert, key := certOf.Cert(t, kind, dc)
		w, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key,
			VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true}.WANConfig("consul.")
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	dc1, dc2, dc3 := strict(ca, tlsutil.KindServer, "dc1"), strict(ca, tlsutil.KindServer, "dc2"), strict(ca, tlsutil.KindServer, "dc3")
	if !dc1.ConfiguredOnly {
		t.Error("with verify_server_hostname, ConfiguredOnly is not set")
	}
	if err := handshake(t, dc1.Config, dc2.Dial("dc1")); err != nil {
		t.Errorf("dc2 dials dc1: %v", err)
	}
	if err := handshake(t, dc2.Config, dc1.Dial("dc2")); err != nil {
		t.Errorf("dc1 dials dc2: %v", err)
	}
	cases := []struct {
		name           string
		server, client *tls.Config
		want           string
	}{
		{"dc3's server where dc2's is dialed", dc3.Config, dc1.Dial("dc2"), "not server.dc2.consul"},
		{"a server dialed without its datacenter", dc2.Config, dc1.Config, "the datacenter of this server is unknown"},
		{"a server of another CA dials", dc1.Config, strict(other, tlsutil.KindServer, "dc3").Dial("dc1"), ""},
		{"dialing a server of another CA", strict(other, tlsutil.KindServer, "dc3").Config, dc1.Dial("dc3"), "unknown authority"},
		{"dialing a client agent's certificate", strict(ca, tlsutil.KindClient, "dc2").Config, dc1.Dial("dc2"), "not server.dc2.consul"},
		{"dialing without a certificate", dc1.Config, &tls.Config{InsecureSkipVerify: true}, ""},
	}
	for _, tc := range cases {
		err := handshake(t, tc.server, tc.client)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: handshake error %v, want one with %q", tc.name, err, tc.want)
		}
	}

	// With verify_outgoing alone the chain is checked, not the names,
	// dialing a known datacenter or not.
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	chainOnly, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key, VerifyOutgoing: true}.WANConfig("consul")
	if err != nil {
		t.Fatal(err)
	}
	if chainOnly.ConfiguredOnly {
		t.Error("without verify_server_hostname, ConfiguredOnly is set")
	}
	for name, client := range map[string]*tls.Config{"Dial": chainOnly.Dial("dc2"), "Config": chainOnly.Config} {
		if err := handshake(t, dc3.Config, client); err != nil {
			t.Errorf("verify_outgoing alone, %s, a server of the CA: %v", name, err)
		}
		if err := handshake(t, strict(other, tlsutil.KindServer, "dc2").Config, client); err == nil || !strings.Contains(err.Error(), "unknown authority") {
			t.Errorf("verify_outgoing alone, %s, a server of another CA: %v, want unknown authority", name, err)
		}
	}

	// Without verify_outgoing the dialer checks nothing; without
	// verify_incoming the listener asks for no certificate.
	lax, err := tlsutil.Protocol{CertFile: cert, KeyFile: key}.WANConfig("consul")
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, strict(other, tlsutil.KindClient, "dc3").Config, lax.Dial("dc2")); err != nil {
		t.Errorf("without verify_outgoing: %v", err)
	}
	if err := handshake(t, lax.Config, &tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Errorf("without verify_incoming: %v", err)
	}
	if _, err := (tlsutil.Protocol{CAFile: ca.CertFile, VerifyOutgoing: true}).WANConfig("consul"); err == nil {
		t.Error("a WAN TLS without a certificate was made")
	}
}
