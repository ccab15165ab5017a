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
)

// A `watches` block runs its handler once at start and once per change of
// the watched key: not for other keys, and not for a reload that leaves
// the watch as it was.
func TestWatchesFromConfig(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "fires")
	conf := filepath.Join(dir, "watches.json")
	def := fmt.Sprintf(`{"watches": [{"type": "key", "key": "app/flag", "handler_type": "script",
		"args": ["sh", "-c", "cat > /dev/null; echo fired >> %s"]}]}`, out)
	if err := os.WriteFile(conf, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-dev", "-config-file=" + conf}
	a := agenttest.Start(t, args...)
	a.SetReload(func() (*config.Config, error) {
		return config.Load(append([]string{"-bind=127.0.0.1", "-client=127.0.0.1"}, args...))
	})
	c := agenttest.Client(t, a.HTTPAddr())
	fires := func() int {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "fired\n")
	}
	waitFires := func(n int, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for fires() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the handler ran %d times, want %d", what, fires(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	put := func(k, v string) {
		t.Helper()
		if _, err := c.KV().Put(&api.KVPair{Key: k, Value: []byte(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFires(1, "at start")
	put("app/flag", "on")
	waitFires(2, "after a change of the key")

	put("app/other", "x")
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	put("marker", "1")
	time.Sleep(500 * time.Millisecond) // a negative check: nothing may run within this time
	if n := fires(); n != 2 {
		t.Fatalf("the handler ran %d times after an unrelated write and a reload, want 2", n)
	}
	put("app/flag", "off")
	waitFires(3, "after a second change")
}
