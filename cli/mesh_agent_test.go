package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// config write (HCL and JSON, a file and standard input, -cas), read, list
// and delete; intention create, check, match, list, get and delete.
func TestConfigAndIntentionCommands(t *testing.T) {
	addr := agenttest.StartDev(t)
	http := "-http-addr=" + addr
	dir := t.TempDir()
	hclFile := filepath.Join(dir, "web.hcl")
	os.WriteFile(hclFile, []byte(`Kind = "service-defaults"
Name = "web"
Protocol = "http"
mesh_gateway {
  mode = "local"
}
meta {
  Team_Name = "a"
}
`), 0o644)
	res := runCLI(t, "config", "write", http, hclFile)
	if res.code != 0 || res.stdout != "Config entry written: service-defaults/web\n" {
		t.Fatalf("config write HCL: %+v", res)
	}
	res = invocation{stdin: `{"Kind": "proxy-defaults", "Name": "global", "Config": {"protocol": "http"}}`}.run(t, "config", "write", http, "-cas", "-modify-index=0", "-")
	if res.code != 0 || !strings.Contains(res.stdout, "Config entry written: proxy-defaults/global") {
		t.Fatalf("config write -cas from stdin: %+v", res)
	}
	res = invocation{stdin: `{"Kind": "proxy-defaults", "Name": "global"}`}.run(t, "config", "write", http, "-cas", "-modify-index=0", "-")
	if res.code != 1 || !strings.Contains(res.stderr, "Config entry not updated: proxy-defaults/global") {
		t.Fatalf("config write -cas on an existing entry: %+v", res)
	}
	res = runCLI(t, "config", "read", http, "-kind", "service-defaults", "-name", "web")
	if res.code != 0 || !strings.Contains(res.stdout, `"Protocol": "http"`) || !strings.Contains(res.stdout, `"Mode": "local"`) ||
		!strings.Contains(res.stdout, `"Team_Name": "a"`) {
		t.Fatalf("config read: %+v", res)
	}
	res = runCLI(t, "config", "list", http, "-kind", "service-defaults")
	if res.code != 0 || res.stdout != "web\n" {
		t.Fatalf("config list: %+v", res)
	}
	res = runCLI(t, "config", "delete", http, "-kind", "service-defaults", "-name", "web")
	if res.code != 0 || res.stdout != "Config entry deleted: service-defaults/web\n" {
		t.Fatalf("config delete: %+v", res)
	}
	res = runCLI(t, "config", "read", http, "-kind", "service-defaults", "-name", "web")
	if res.code != 1 || !strings.Contains(res.stderr, "404") {
		t.Fatalf("config read after delete: %+v", res)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"Kind": "proxy-defaults", "Name": "other"}`), 0o644)
	if res = runCLI(t, "config", "write", http, bad); res.code != 1 || !strings.Contains(res.stderr, `only "global" is supported`) {
		t.Fatalf("config write of a bad entry: %+v", res)
	}

	if res = runCLI(t, "intention", "create", http, "web", "db"); res.code != 0 || res.stdout != "Created: web => db (allow)\n" {
		t.Fatalf("intention create: %+v", res)
	}
	if res = runCLI(t, "intention", "create", http, "-deny", "*", "db"); res.code != 0 || res.stdout != "Created: * => db (deny)\n" {
		t.Fatalf("intention create -deny: %+v", res)
	}
	if res = runCLI(t, "intention", "create", http, "web", "db"); res.code != 1 || !strings.Contains(res.stderr, "already exists") {
		t.Fatalf("intention create of an existing one: %+v", res)
	}
	if res = runCLI(t, "intention", "check", http, "web", "db"); res.code != 0 || res.stdout != "Allowed\n" {
		t.Fatalf("intention check web db: %+v", res)
	}
	if res = runCLI(t, "intention", "check", http, "api", "db"); res.code != 2 || res.stdout != "Denied\n" {
		t.Fatalf("intention check api db: %+v", res)
	}
	if res = runCLI(t, "intention", "match", http, "db"); res.code != 0 || res.stdout != "web => db (allow)\n* => db (deny)\n" {
		t.Fatalf("intention match: %+v", res)
	}
	if res = runCLI(t, "intention", "list", http); res.code != 0 || !strings.Contains(res.stdout, "Source") ||
		!strings.Contains(res.stdout, "web") || strings.Count(res.stdout, "\n") != 3 {
		t.Fatalf("intention list: %+v", res)
	}
	if res = runCLI(t, "intention", "get", http, "web", "db"); res.code != 0 || !strings.Contains(res.stdout, "Action:      allow") {
		t.Fatalf("intention get: %+v", res)
	}
	if res = runCLI(t, "intention", "delete", http, "web", "db"); res.code != 0 || res.stdout != "Intention deleted.\n" {
		t.Fatalf("intention delete: %+v", res)
	}
	c, _ := api.NewClient(&api.Config{Address: addr})
	if ixn, _, err := c.Connect().IntentionGetExact("web", "db", nil); err != nil || ixn != nil {
		t.Fatalf("after delete: %+v %v", ixn, err)
	}
}
