package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

func TestSnapshotCommands(t *testing.T) {
	src := agenttest.StartDev(t)
	c, _ := api.NewClient(&api.Config{Address: src})
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "backup.snap")
	out, errOut, code := runCLI("snapshot", "save", "-http-addr="+src, file)
	if code != 0 || !strings.Contains(out, "Saved and verified snapshot to index") {
		t.Fatalf("save: %d %q %q", code, out, errOut)
	}
	out, _, code = runCLI("snapshot", "inspect", file)
	if code != 0 || !strings.Contains(out, " Index") || !strings.Contains(out, "Shard kv") {
		t.Fatalf("inspect: %d %q", code, out)
	}
	dst := agenttest.StartDev(t)
	if out, errOut, code := runCLI("snapshot", "restore", "-http-addr="+dst, file); code != 0 || !strings.Contains(out, "Restored snapshot") {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	out, _, code = runCLI("kv", "get", "-http-addr="+dst, "k")
	if code != 0 || strings.TrimSpace(out) != "v" {
		t.Fatalf("restored key: %d %q", code, out)
	}
	if _, errOut, code := runCLI("snapshot", "inspect", filepath.Join(t.TempDir(), "missing")); code != 1 || !strings.Contains(errOut, "Error opening") {
		t.Fatalf("inspect of a missing file: %d %q", code, errOut)
	}
}
