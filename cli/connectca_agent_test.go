package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// connect ca get-config prints the configuration; set-config with a new key
// size rotates the CA.
func TestConnectCACommands(t *testing.T) {
	addr := agenttest.StartDev(t)
	c, _ := api.NewClient(&api.Config{Address: addr})
	var first string
	poll.Eventually(t, 30*time.Second, "a CA root", func() (bool, string) {
		l, _, err := c.Connect().CARoots(nil)
		if err != nil || l.ActiveRootID == "" {
			return false, "none yet"
		}
		first = l.ActiveRootID
		return true, ""
	})
	res := runCLI(t, "connect", "ca", "get-config", "-http-addr="+addr)
	var conf api.CAConfig
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &conf) != nil || conf.Provider != "consul" {
		t.Fatalf("get-config: %+v", res)
	}
	file := filepath.Join(t.TempDir(), "ca.json")
	os.WriteFile(file, []byte(`{"Provider": "consul", "Config": {"PrivateKeyType": "ec", "PrivateKeyBits": 384}}`), 0o644)
	res = runCLI(t, "connect", "ca", "set-config", "-http-addr="+addr, "-config-file="+file)
	if res.code != 0 || !strings.Contains(res.stdout, "Configuration updated!") {
		t.Fatalf("set-config: %+v", res)
	}
	l, _, err := c.Connect().CARoots(nil)
	if err != nil || l.ActiveRootID == first || len(l.Roots) != 2 {
		t.Fatalf("after set-config: %+v %v", l, err)
	}
	if res := runCLI(t, "connect", "ca", "set-config", "-http-addr="+addr); res.code != 1 || !strings.Contains(res.stderr, "-config-file") {
		t.Fatalf("set-config without a file: %+v", res)
	}
}
