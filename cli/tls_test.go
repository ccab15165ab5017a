package cli

import (
	"crypto/tls"
	"os"
	"strings"
	"testing"
)

// tls ca create and tls cert create write Consul's file names in the
// current directory, number certificates on, and never overwrite.
func TestTLSCreateFiles(t *testing.T) {
	t.Chdir(t.TempDir())
	r := runCLI(t, "tls", "ca", "create")
	if r.code != 0 || !strings.Contains(r.stdout, "==> Saved consul-agent-ca.pem") ||
		!strings.Contains(r.stdout, "==> Saved consul-agent-ca-key.pem") {
		t.Fatalf("ca create: %+v", r)
	}
	if r := runCLI(t, "tls", "ca", "create"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("a second ca create: %+v", r)
	}
	for i, want := range []string{"dc1-server-consul-0", "dc1-server-consul-1"} {
		r := runCLI(t, "tls", "cert", "create", "-server", "-node=n1", "-additional-ipaddress=10.0.0.5")
		if r.code != 0 || !strings.Contains(r.stdout, "==> Saved "+want+".pem") || !strings.Contains(r.stdout, "==> Saved "+want+"-key.pem") {
			t.Fatalf("cert create -server #%d: %+v", i, r)
		}
	}
	pair, err := tls.LoadX509KeyPair("dc1-server-consul-0.pem", "dc1-server-consul-0-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"server.dc1.consul", "n1.server.dc1.consul", "localhost", "127.0.0.1", "10.0.0.5"} {
		if err := pair.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("server certificate: %v", err)
		}
	}
	if info, err := os.Stat("dc1-server-consul-0-key.pem"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", info.Mode(), err)
	}
	if r := runCLI(t, "tls", "cert", "create", "-cli", "-dc=east", "-domain=herald"); r.code != 1 ||
		!strings.Contains(r.stderr, "herald-agent-ca.pem") {
		t.Errorf("a domain without its CA: %+v", r)
	}
	if r := runCLI(t, "tls", "cert", "create", "-cli", "-dc=east"); r.code != 0 || !strings.Contains(r.stdout, "Saved east-cli-consul-0.pem") {
		t.Errorf("cert create -cli: %+v", r)
	}
	for _, args := range [][]string{{}, {"-server", "-client"}, {"-client", "-node=x"}} {
		if r := runCLI(t, append([]string{"tls", "cert", "create"}, args...)...); r.code != 1 {
			t.Errorf("cert create %q: %+v", args, r)
		}
	}
}
