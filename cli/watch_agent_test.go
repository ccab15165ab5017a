package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// startWatch runs `watch args...` against the agent at addr until the test
// cancels it.
func startWatch(addr string, args ...string) (*bgRun, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &bgRun{args: args, stdout: &bgBuffer{}, stderr: &bgBuffer{}, code: make(chan int, 1)}
	cio := bgIO(addr, "", r.stdout, r.stderr)
	go func() { r.code <- new(watchCmd).run(ctx, args, cio) }()
	return r, cancel
}

// Without a handler, watch prints the current data once, indented, and exits.
func TestWatchPrintsOnce(t *testing.T) {
	addr := agenttest.StartDev(t)
	c := agenttest.Client(t, addr)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	if _, err := c.KV().Put(&api.KVPair{Key: "w/k", Value: []byte("hello"), Flags: 5}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext1", Address: "10.0.0.1",
		Service: &api.AgentService{ID: "web1", Service: "web", Port: 80, Tags: []string{"primary"}},
		Checks:  api.HealthChecks{{Node: "ext1", CheckID: "web1-up", Name: "up", Status: api.HealthPassing, ServiceID: "web1"}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext2", Address: "10.0.0.2",
		Service: &api.AgentService{ID: "web2", Service: "web", Port: 80},
		Checks:  api.HealthChecks{{Node: "ext2", CheckID: "web2-up", Name: "up", Status: api.HealthCritical, ServiceID: "web2"}},
	}, nil); err != nil {
		t.Fatal(err)
	}

	r := inv.run(t, "watch", "-type=key", "-key=w/k")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "{\n    \"Key\": \"w/k\",\n    \"CreateIndex\": ") || !strings.HasSuffix(r.stdout, "}\n") {
		t.Fatalf("key: %+v", r)
	}
	var pair api.KVPair
	if err := json.Unmarshal([]byte(r.stdout), &pair); err != nil || string(pair.Value) != "hello" || pair.Flags != 5 {
		t.Errorf("key: %+v (%v)", pair, err)
	}

	r = inv.run(t, "watch", "-type=keyprefix", "-prefix=w/")
	var pairs api.KVPairs
	if err := json.Unmarshal([]byte(r.stdout), &pairs); r.code != 0 || err != nil || len(pairs) != 1 || pairs[0].Key != "w/k" {
		t.Errorf("keyprefix: %+v (%v)", r, err)
	}

	for _, tt := range []struct {
		args []string
		want []string // service IDs
	}{
		{[]string{"-type=service", "-service=web"}, []string{"web1", "web2"}},
		{[]string{"-type=service", "-service=web", "-passingonly=true"}, []string{"web1"}},
		{[]string{"-type=service", "-service=web", "-tag=primary"}, []string{"web1"}},
		{[]string{"-type=service", "-service=web", "-filter=Node.Node == \"ext2\""}, []string{"web2"}},
	} {
		r := inv.run(t, append([]string{"watch"}, tt.args...)...)
		var entries []*api.ServiceEntry
		if err := json.Unmarshal([]byte(r.stdout), &entries); r.code != 0 || err != nil {
			t.Errorf("%q: %+v (%v)", tt.args, r, err)
			continue
		}
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.Service.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q: instances %v, want %v", tt.args, ids, tt.want)
		}
	}

	r = inv.run(t, "watch", "-type=checks", "-state=critical")
	var checks api.HealthChecks
	if err := json.Unmarshal([]byte(r.stdout), &checks); r.code != 0 || err != nil || len(checks) != 1 || checks[0].CheckID != "web2-up" {
		t.Errorf("checks: %+v (%v)", r, err)
	}
	r = inv.run(t, "watch", "-type=services")
	var services map[string][]string
	if err := json.Unmarshal([]byte(r.stdout), &services); r.code != 0 || err != nil || len(services["web"]) != 1 {
		t.Errorf("services: %+v (%v)", r, err)
	}
}

func TestWatchUsageErrors(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"watch"}, "Error! -type is required: one of key, keyprefix, services, nodes, service, checks, event\n"},
		{[]string{"watch", "-type=kv"}, "Error! unsupported watch type \"kv\": must be one of key, keyprefix, services, nodes, service, checks, event\n"},
		{[]string{"watch", "-type=key"}, "Error! the key watch type requires \"key\"\n"},
		{[]string{"watch", "-type=services", "-key=x"}, "Error! invalid parameters for the services watch type: key\n"},
		{[]string{"watch", "-type=service", "-service=web", "-passingonly=maybe"}, "Error! -passingonly must be true or false, not \"maybe\"\n"},
		{[]string{"watch", "-type=checks", "-state=sad"}, "Error! invalid check state \"sad\": must be any, passing, warning or critical\n"},
	} {
		if r := inv.run(t, tt.args...); r.code != 1 || r.stderr != tt.want || r.stdout != "" {
			t.Errorf("%q: %+v, want stderr %q", tt.args, r, tt.want)
		}
	}
	dead := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": "127.0.0.1:1"}}
	if r := dead.run(t, "watch", "-type=nodes"); r.code != 1 || !strings.HasPrefix(r.stderr, "Error querying agent: ") {
		t.Errorf("unreachable agent: %+v", r)
	}
}

// With a handler, watch runs it at the start and on each change, with the
// JSON on stdin and CONSUL_INDEX set, until interrupted.
func TestWatchRunsHandler(t *testing.T) {
	addr := agenttest.StartDev(t)
	c := agenttest.Client(t, addr)
	put := func(v string) {
		t.Helper()
		if _, err := c.KV().Put(&api.KVPair{Key: "w/h", Value: []byte(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	data, idx := filepath.Join(dir, "data"), filepath.Join(dir, "idx")
	put("v1")
	r, cancel := startWatch(addr, "-type=key", "-key=w/h",
		`cat >> '`+data+`'; echo "$CONSUL_INDEX" >> '`+idx+`'; echo ran`)
	pollFile(t, idx, "the first run", func(s string) bool { return len(fileLines(s)) == 1 })
	put("v2")
	pollFile(t, idx, "the second run", func(s string) bool { return len(fileLines(s)) == 2 })
	cancel()
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, r.stderr)
	}
	if got := r.stdout.String(); got != "ran\nran\n" {
		t.Errorf("handler output %q", got)
	}

	raw, _ := os.ReadFile(data)
	runs := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	indexes := fileLines(string(mustRead(t, idx)))
	if len(runs) != 2 {
		t.Fatalf("handler stdin %q", raw)
	}
	for i, want := range []string{"v1", "v2"} {
		var pair api.KVPair
		if err := json.Unmarshal([]byte(runs[i]), &pair); err != nil || string(pair.Value) != want {
			t.Errorf("run %d: stdin %q (%v)", i, runs[i], err)
		}
		if indexes[i] == "" || indexes[i] == "0" {
			t.Errorf("run %d: CONSUL_INDEX %q", i, indexes[i])
		}
	}
	if indexes[0] == indexes[1] {
		t.Errorf("both runs had CONSUL_INDEX %s", indexes[0])
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// -shell=false runs the handler's arguments as they are.
func TestWatchHandlerWithoutShell(t *testing.T) {
	addr := agenttest.StartDev(t)
	out := filepath.Join(t.TempDir(), "out")
	r, cancel := startWatch(addr, "-shell=false", "-type=nodes", "sh", "-c", `cat > "$0"`, out)
	defer cancel()
	got := pollFile(t, out, "the handler's output", func(s string) bool { return strings.HasSuffix(s, "]\n") })
	var nodes []*api.Node
	if err := json.Unmarshal([]byte(got), &nodes); err != nil || len(nodes) == 0 {
		t.Fatalf("handler got %q (%v)", got, err)
	}
	cancel()
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, r.stderr)
	}
}

// A failing handler ends watch with 1.
func TestWatchHandlerFailure(t *testing.T) {
	addr := agenttest.StartDev(t)
	r, cancel := startWatch(addr, "-type=nodes", "echo oops >&2; exit 4")
	defer cancel()
	if code := r.wait(t); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if got := r.stderr.String(); !strings.HasPrefix(got, "oops\nError! Handler failed: ") || !strings.Contains(got, "exit status 4") {
		t.Errorf("stderr %q", got)
	}
}
