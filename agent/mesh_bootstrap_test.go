package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/testutil/poll"
)

const bootstrapHCL = `config_entries {
  bootstrap = [
    {
      kind = "proxy-defaults"
      name = "global"
      config {
        protocol = "http"
      }
    },
    {
      Kind     = "service-defaults"
      Name     = "web"
      Protocol = "grpc"
    }
  ]
}`

// config_entries { bootstrap } entries are written by the server at start,
// only where none exists: a restart keeps what was changed since.
func TestConfigEntriesBootstrap(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "entries.hcl"), []byte(bootstrapHCL), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same Raft address at the restart: the data dir is its.
	args := []string{"-server", "-bootstrap-expect=1", "-node=boot", "-data-dir=" + data, "-config-dir=" + dir,
		fmt.Sprintf("-server-port=%d", agenttest.FreePort(t))}
	a := agenttest.Start(t, args...)
	c := agenttest.Client(t, a.HTTPAddr())
	var web api.ConfigEntry
	poll.Eventually(t, 30*time.Second, "the bootstrap entries are written", func() (bool, string) {
		pd, _, err1 := c.ConfigEntries().Get(api.ProxyDefaults, "global", nil)
		w, _, err2 := c.ConfigEntries().Get(api.ServiceDefaults, "web", nil)
		web = w
		return err1 == nil && err2 == nil && pd.(*api.ProxyConfigEntry).Config["protocol"] == "http", fmt.Sprint(err1, err2)
	})
	if web.(*api.ServiceConfigEntry).Protocol != "grpc" {
		t.Fatalf("service-defaults web: %+v", web)
	}
	if _, _, err := c.ConfigEntries().Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "http"}, nil); err != nil {
		t.Fatal(err)
	}
	a.Shutdown()

	// A new entry after the others: once it is there, the restarted
	// server's bootstrap has gone through them all.
	withNew := strings.Replace(bootstrapHCL, "  ]\n}", `    ,{
      kind = "service-defaults"
      name = "api"
    }
  ]
}`, 1)
	if err := os.WriteFile(filepath.Join(dir, "entries.hcl"), []byte(withNew), 0o644); err != nil {
		t.Fatal(err)
	}
	again := agenttest.Start(t, args...)
	c = agenttest.Client(t, again.HTTPAddr())
	poll.Eventually(t, 30*time.Second, "the restarted server writes the new entry", func() (bool, string) {
		_, _, err := c.ConfigEntries().Get(api.ServiceDefaults, "api", nil)
		return err == nil, fmt.Sprint(err)
	})
	w, _, _ := c.ConfigEntries().Get(api.ServiceDefaults, "web", nil)
	if w.(*api.ServiceConfigEntry).Protocol != "http" {
		t.Fatalf("the restart overwrote the changed entry: %+v", w)
	}
}

// A malformed bootstrap entry stops the agent at start, with Consul's
// message for it.
func TestConfigEntriesBootstrapRefused(t *testing.T) {
	_, err := config.Load([]string{"-dev", "-hcl", `config_entries { bootstrap = [{ kind = "proxy-defaults", name = "other" }] }`})
	if err == nil || !strings.Contains(err.Error(), `config_entries.bootstrap[0]: invalid name ("other"), only "global" is supported`) {
		t.Fatalf("load: %v", err)
	}
}
