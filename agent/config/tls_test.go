package config

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// Each section inherits what it does not set from tls.defaults, which
// inherits from the old top-level keys; the old per-protocol keys sit
// between a section and the defaults. JSON and HCL read the same.
func TestTLSInheritanceAndLegacyKeys(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	other, otherKey := ca.Cert(t, tlsutil.KindServer, "dc1")
	dir := t.TempDir()
	hcl := write(t, dir, "tls.hcl", `
data_dir = "`+dir+`"
ca_file = "`+ca.CertFile+`"
verify_incoming = true
verify_incoming_https = false
verify_server_hostname = true
ports { https = 8501 }
tls {
  defaults {
    cert_file = "`+cert+`"
    key_file = "`+key+`"
    verify_outgoing = true
    tls_min_version = "TLSv1_3"
  }
  internal_rpc {
    cert_file = "`+other+`"
    key_file = "`+otherKey+`"
  }
  grpc { verify_incoming = false }
}
`)
	json := write(t, dir, "tls.json", `{
"data_dir": "`+dir+`",
"ca_file": "`+ca.CertFile+`",
"verify_incoming": true,
"verify_incoming_https": false,
"verify_server_hostname": true,
"ports": {"https": 8501},
"tls": {
  "defaults": {"cert_file": "`+cert+`", "key_file": "`+key+`", "verify_outgoing": true, "tls_min_version": "TLSv1_3"},
  "internal_rpc": {"cert_file": "`+other+`", "key_file": "`+otherKey+`"},
  "grpc": {"verify_incoming": false}
}}`)
	want := TLS{
		HTTPS: tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key, VerifyIncoming: false,
			VerifyOutgoing: true, MinVersion: "TLSv1_3"},
		InternalRPC: tlsutil.Protocol{CAFile: ca.CertFile, CertFile: other, KeyFile: otherKey, VerifyIncoming: true,
			VerifyOutgoing: true, VerifyServerHostname: true, MinVersion: "TLSv1_3"},
		GRPC: tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key, VerifyOutgoing: true, MinVersion: "TLSv1_3"},
	}
	for _, f := range []string{hcl, json} {
		c := mustLoad(t, "-config-file", f)
		if c.TLS != want {
			t.Errorf("%s:\n got %+v\nwant %+v", f, c.TLS, want)
		}
		if c.Ports.HTTPS != 8501 {
			t.Errorf("%s: ports.https %d", f, c.Ports.HTTPS)
		}
		if len(c.Warnings) != 0 {
			t.Errorf("%s: warnings %q", f, c.Warnings)
		}
	}
}

// The tls block wins over the old key it replaces, whatever the order.
func TestTLSBlockWinsOverLegacyKey(t *testing.T) {
	ca := tlstest.NewCA(t)
	c := mustLoad(t, "-data-dir", t.TempDir(), "-hcl", `tls { internal_rpc { verify_outgoing = false } }`,
		"-hcl", `verify_outgoing = true ca_file = "`+ca.CertFile+`"`)
	if c.TLS.InternalRPC.VerifyOutgoing {
		t.Error("verify_outgoing (old key) overrode tls.internal_rpc.verify_outgoing")
	}
	if !c.TLS.HTTPS.VerifyOutgoing {
		t.Error("tls.https did not inherit the old verify_outgoing")
	}
}

func TestTLSValidation(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	cases := []struct{ hcl, want string }{
		{`verify_incoming = true`, "tls.https: verify_incoming set, and no CA certificate provided"},
		{`tls { internal_rpc { verify_incoming = true ca_file = "` + ca.CertFile + `" } }`,
			"tls.internal_rpc: verify_incoming set, and no cert_file/key_file pair provided"},
		{`tls { defaults { cert_file = "` + cert + `" } }`, "cert_file and key_file must be set together"},
		{`tls { defaults { verify_outgoing = true } }`, "verify_outgoing set, and no CA certificate provided"},
		{`tls { https { tls_min_version = "SSLv3" } }`, "tls.https: tls_min_version: value SSLv3 not supported"},
		{`tls { defaults { ca_file = "/nonexistent/ca.pem" } }`, "tls.https: ca_file:"},
		{`tls { defaults { cert_file = "` + cert + `" key_file = "` + ca.KeyFile + `" } }`, "failed to load cert/key pair"},
	}
	for _, tc := range cases {
		_, err := Load([]string{"-data-dir", t.TempDir(), "-hcl", tc.hcl})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.hcl, err, tc.want)
		}
	}
	c := mustLoad(t, "-data-dir", t.TempDir(), "-https-port=8501")
	if !hasWarning(c, "ports.https = 8501 has no certificate") {
		t.Errorf("no warning about an HTTPS port without a certificate: %q", c.Warnings)
	}
	ok := `ports { https = 8501 } tls { defaults { ca_file = "` + ca.CertFile + `" cert_file = "` + cert +
		`" key_file = "` + key + `" verify_incoming = true verify_outgoing = true } }`
	if _, err := Load([]string{"-data-dir", t.TempDir(), "-hcl", ok}); err != nil {
		t.Errorf("a complete tls block: %v", err)
	}
}

// enable_script_checks without ACLs warns as Consul does when the HTTP API
// listens beyond loopback, and only then.
func TestRemoteScriptChecksWarning(t *testing.T) {
	cases := []struct {
		args []string
		warn bool
	}{
		{[]string{"-enable-script-checks", "-client=0.0.0.0"}, true},
		{[]string{"-enable-script-checks", "-client=127.0.0.1 10.1.2.3"}, true},
		{[]string{"-enable-script-checks"}, false},
		{[]string{"-enable-script-checks", "-client=0.0.0.0", "-hcl", "acl { enabled = true }"}, false},
		{[]string{"-enable-script-checks", "-client=0.0.0.0", "-http-port=-1"}, false},
		{[]string{"-enable-local-script-checks", "-client=0.0.0.0"}, false},
	}
	for _, tc := range cases {
		c := mustLoad(t, append([]string{"-data-dir", t.TempDir()}, tc.args...)...)
		if got := hasWarning(c, remoteScriptCheckWarning); got != tc.warn {
			t.Errorf("%q: warning %v, want %v (warnings %q)", tc.args, got, tc.warn, c.Warnings)
		}
	}
}
