package cli_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/cli"
)

func runWithEnv(env map[string]string, args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = cli.Run("herald", args, cli.IO{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e,
		Env: func(k string) string { return env[k] }})
	return o.String(), e.String(), code
}

// The CLI talks to an agent that verifies incoming HTTPS with the
// certificates tls ca create and tls cert create made, through Consul's
// environment variables; without its client certificate it is refused.
func TestCLIOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{{"tls", "ca", "create"}, {"tls", "cert", "create", "-server"}, {"tls", "cert", "create", "-cli"}} {
		if _, errOut, code := runCLI(args...); code != 0 {
			t.Fatalf("%q: %s", args, errOut)
		}
	}
	file := func(name string) string { return filepath.Join(dir, name) }
	a := agenttest.Start(t, "-dev", "-node=secure", "-http-port=-1", "-https-port=0", "-hcl", fmt.Sprintf(
		`tls { https { ca_file = %q cert_file = %q key_file = %q verify_incoming = true } }`,
		file("consul-agent-ca.pem"), file("dc1-server-consul-0.pem"), file("dc1-server-consul-0-key.pem")))

	env := map[string]string{
		"CONSUL_HTTP_ADDR":   "https://" + a.HTTPSAddr(),
		"CONSUL_CACERT":      file("consul-agent-ca.pem"),
		"CONSUL_CLIENT_CERT": file("dc1-cli-consul-0.pem"),
		"CONSUL_CLIENT_KEY":  file("dc1-cli-consul-0-key.pem"),
	}
	out, errOut, code := runWithEnv(env, "members")
	if code != 0 || !strings.Contains(out, "secure") {
		t.Fatalf("members over HTTPS: %d %q %q", code, out, errOut)
	}
	// The same with -http-addr and CONSUL_HTTP_SSL instead of a scheme.
	env["CONSUL_HTTP_SSL"] = "true"
	delete(env, "CONSUL_HTTP_ADDR")
	if out, errOut, code := runWithEnv(env, "kv", "put", "-http-addr="+a.HTTPSAddr(), "k", "v"); code != 0 {
		t.Fatalf("kv put over HTTPS: %d %q %q", code, out, errOut)
	}
	delete(env, "CONSUL_CLIENT_CERT")
	delete(env, "CONSUL_CLIENT_KEY")
	if out, _, code := runWithEnv(env, "members", "-http-addr=https://"+a.HTTPSAddr()); code == 0 {
		t.Fatalf("members without a client certificate succeeded: %q", out)
	}
}
