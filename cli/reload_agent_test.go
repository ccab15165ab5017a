package cli

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/config"
)

// startReloadableAgent starts a dev agent that reads configDir, wired to
// read it again on reload as `herald agent` is (agenttest.Start cannot set
// the reload hook before the agent starts).
func startReloadableAgent(t *testing.T, configDir string) string {
	t.Helper()
	loadArgs := []string{
		"-dev", "-config-dir=" + configDir,
		"-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port=0", "-dns-port=0", "-nats-port=0", "-serf-lan-port=0", "-serf-wan-port=-1",
		"-server-port=" + strconv.Itoa(agenttest.FreePort(t)),
	}
	cfg, err := config.Load(loadArgs)
	if err != nil {
		t.Fatalf("agent config: %v", err)
	}
	a := agent.New(cfg, nil)
	a.SetReload(func() (*config.Config, error) { return config.Load(loadArgs) })
	if err := a.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(a.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitLeader(ctx); err != nil {
		t.Fatalf("agent has no leader: %v", err)
	}
	return a.HTTPAddr()
}

func TestReloadAgainstAgent(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("web.json", `{"service": {"name": "web", "port": 80}}`)
	addr := startReloadableAgent(t, dir)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	client := agenttest.Client(t, addr)

	if ids := agentServiceIDs(t, client); !reflect.DeepEqual(ids, []string{"web"}) {
		t.Fatalf("services from config before reload: %q", ids)
	}

	// The agent only sees a changed directory when told to reload.
	write("db.hcl", `service { name = "db" port = 5432 }`)
	if ids := agentServiceIDs(t, client); !reflect.DeepEqual(ids, []string{"web"}) {
		t.Fatalf("services changed without a reload: %q", ids)
	}
	step{args: args("reload"), stdout: "Configuration reload triggered\n"}.check(t, inv)
	if ids := agentServiceIDs(t, client); !reflect.DeepEqual(ids, []string{"db", "web"}) {
		t.Errorf("services after reload: %q", ids)
	}
	step{args: args("catalog", "services"), stdout: "consul\ndb\nweb\n"}.check(t, inv)

	// A configuration the agent rejects is reported, and changes nothing.
	write("broken.json", `{"service": `)
	step{args: args("reload"), code: 1, stderrPfx: "Error reloading: Unexpected response code: 400 ("}.check(t, inv)
	if ids := agentServiceIDs(t, client); !reflect.DeepEqual(ids, []string{"db", "web"}) {
		t.Errorf("services after a failed reload: %q", ids)
	}

	step{args: args("reload", "-http-addr="+closedPortAddr(t)), code: 1, stderrPfx: "Error reloading: "}.check(t, inv)
}
