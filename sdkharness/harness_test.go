package sdkharness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/sdk/testutil"

	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/version"
)

// TestMain puts a `consul` that is Herald first on PATH: the harness runs
// whatever `consul` it finds there. The binary is $HERALD_BIN when set
// (make test builds bin/herald first), else built here.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-sdkharness-")
	if err != nil {
		panic(err)
	}
	code := run(m, dir)
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(m *testing.M, dir string) int {
	bin := os.Getenv("HERALD_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "herald")
		build := exec.Command("go", "build", "-o", bin, "github.com/heraldhq/herald/cmd/herald")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build herald:", err)
			return 1
		}
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pathDir := filepath.Join(dir, "path")
	if err := os.Mkdir(pathDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Symlink(bin, filepath.Join(pathDir, "consul")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("PATH", pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return m.Run()
}

// agentKind is what a test wants of the harness's agent.
type agentKind int

const (
	bootstrapServer agentKind = iota // a server electing itself: the harness's default
	joiningServer                    // a server that joins the first one's cluster
	clientAgent                      // a client agent: no Raft of its own
)

// startAgents starts one agent per kind at once, each through the harness
// as a Consul user's test would, with the harness's defaults (Connect on
// for servers). The agents are
// stopped at the end of the test unless the test stopped them.
func startAgents(t *testing.T, kinds ...agentKind) []*testutil.TestServer {
	t.Helper()
	agents := make([]*testutil.TestServer, len(kinds))
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agents[i], errs[i] = testutil.NewTestServerConfigT(t, func(c *testutil.TestServerConfig) {
				c.NodeName = fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), i)
				c.Server = kind != clientAgent
				c.Bootstrap = kind == bootstrapServer
			})
		}()
	}
	wg.Wait()
	for i, a := range agents {
		if a != nil {
			t.Cleanup(func() { a.Stop() })
		}
		if errs[i] != nil {
			t.Fatalf("agent %d did not start: %v", i, errs[i])
		}
	}
	return agents
}

func clientOf(t *testing.T, s *testutil.TestServer) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: s.HTTPAddr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stopAll stops the agents at once, as the harness does (SIGINT, then
// waiting up to StopTimeout for the process to exit), and checks that each
// exited cleanly. It logs how long each took: Herald means to stop within
// a second of the signal.
func stopAll(t *testing.T, agents []*testutil.TestServer) {
	t.Helper()
	errs := make([]error, len(agents))
	took := make([]time.Duration, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			errs[i] = a.Stop()
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		t.Logf("agent %s stopped in %v", agents[i].Config.NodeName, took[i].Round(time.Millisecond))
		if err != nil {
			t.Errorf("agent %s did not stop cleanly on SIGINT: %v", agents[i].Config.NodeName, err)
		}
	}
}

// The harness's own checks of the binary: it reads `consul version
// -format=json` to decide what to write in the config, and Herald invoked
// as consul reports the Consul release whose API it implements, so the
// harness writes the config of a current Consul (with ports.grpc_tls,
// which Consul 1.14 introduced). A lone server with the harness's whole
// default config, Connect and peering included, starts, elects itself
// and serves the harness's KV and service helpers.
func TestHarnessDefaultServer(t *testing.T) {
	t.Parallel()
	srv, err := testutil.NewTestServerConfigT(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	if srv.Config.Version != version.ConsulCompat {
		t.Errorf("the harness read version %q from `consul version`, want %q", srv.Config.Version, version.ConsulCompat)
	}
	if srv.Config.Ports.GRPCTLS == 0 {
		t.Error("the harness did not take the binary for Consul 1.14 or later: no ports.grpc_tls")
	}
	srv.WaitForLeader(t)
	srv.WaitForSerfCheck(t)

	w := srv.Wrap(t)
	w.SetKVString("harness/greeting", "hello")
	if got := w.GetKVString("harness/greeting"); got != "hello" {
		t.Errorf("GetKVString = %q, want hello", got)
	}
	w.AddService("web", testutil.HealthPassing, []string{"v1"})
	entries, _, err := clientOf(t, srv).Health().Service("web", "v1", true, nil)
	if err != nil || len(entries) != 1 || entries[0].Service.Service != "web" {
		t.Fatalf("passing instances of web after AddService: %v, %v", entries, err)
	}
	stopAll(t, []*testutil.TestServer{srv})
}

// Three servers and two client agents start at once on one host through
// the harness, join with its JoinLAN, agree on a leader, and serve KV and
// the catalog through the official client from any of them; then all
// stop on SIGINT.
func TestHarnessClusterOfServersAndClients(t *testing.T) {
	t.Parallel()
	agents := startAgents(t, bootstrapServer, joiningServer, joiningServer, clientAgent, clientAgent)
	first := agents[0]
	first.WaitForLeader(t)
	for _, a := range agents[1:] {
		a.JoinLAN(t, first.LANAddr)
	}

	// Joining servers become voters; every agent then knows the leader.
	// The harness's own waits give up after 7 s, which a loaded machine
	// may need for five agents: wait here first, then use them.
	for _, a := range agents {
		c := clientOf(t, a)
		poll.Eventually(t, 30*time.Second, a.Config.NodeName+" knows the leader", func() (bool, string) {
			leader, err := c.Status().Leader()
			return err == nil && leader != "", fmt.Sprint(leader, err)
		})
		a.WaitForLeader(t)
	}
	for _, s := range agents[:3] {
		poll.Eventually(t, 30*time.Second, s.Config.NodeName+" is a voter", func() (bool, string) {
			cfg, err := clientOf(t, first).Operator().RaftGetConfiguration(nil)
			if err != nil {
				return false, err.Error()
			}
			for _, srv := range cfg.Servers {
				if srv.ID == s.Config.NodeID && srv.Voter {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d servers", len(cfg.Servers))
		})
		s.WaitForVoting(t)
		// Every server has the one root the leader made.
		s.WaitForActiveCARoot(t)
	}
	roots := map[string]bool{}
	for _, s := range agents[:3] {
		list, _, err := clientOf(t, s).Agent().ConnectCARoots(nil)
		if err != nil || list.ActiveRootID == "" {
			t.Fatalf("%s's CA roots: %+v, %v", s.Config.NodeName, list, err)
		}
		roots[list.ActiveRootID] = true
	}
	if len(roots) != 1 {
		t.Errorf("the servers name %d different active roots, want one", len(roots))
	}
	members, err := clientOf(t, first).Agent().Members(false)
	if err != nil || len(members) != len(agents) {
		t.Fatalf("members seen by the first server: %d, %v; want %d", len(members), err, len(agents))
	}

	// A write through a client agent is read through every agent.
	client := clientOf(t, agents[3])
	if _, err := client.KV().Put(&api.KVPair{Key: "harness/color", Value: []byte("blue")}, nil); err != nil {
		t.Fatal(err)
	}
	err = client.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 9090, Tags: []string{"v2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		c := clientOf(t, a)
		poll.Eventually(t, 15*time.Second, a.Config.NodeName+" reads the key", func() (bool, string) {
			kv, _, err := c.KV().Get("harness/color", nil)
			if err != nil || kv == nil {
				return false, fmt.Sprint(kv, err)
			}
			return string(kv.Value) == "blue", string(kv.Value)
		})
		poll.Eventually(t, 15*time.Second, a.Config.NodeName+" lists the service", func() (bool, string) {
			svcs, _, err := c.Catalog().Service("api", "v2", nil)
			if err != nil || len(svcs) != 1 {
				return false, fmt.Sprint(len(svcs), err)
			}
			return svcs[0].Node == agents[3].Config.NodeName && svcs[0].ServicePort == 9090, svcs[0].Node
		})
	}
	stopAll(t, agents)
}

// Consul's harness waits, for a server with Connect enabled (its default),
// until /v1/agent/connect/ca/roots has an active root.
func TestHarnessWaitsForConnectCARoot(t *testing.T) {
	t.Parallel()
	srv, err := testutil.NewTestServerConfigT(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	srv.WaitForLeader(t)
	srv.WaitForActiveCARoot(t)
	stopAll(t, []*testutil.TestServer{srv})
}

// The harness serves the HTTP API on a Unix socket when the config's
// addresses.http is unix://path, and then talks to the agent only there.
func TestHarnessHTTPOnUnixSocket(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "herald-sock-") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "http.sock")
	srv, err := testutil.NewTestServerConfigT(t, func(c *testutil.TestServerConfig) {
		c.Connect = nil
		c.Addresses.HTTP = "unix://" + sock
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	if srv.HTTPAddr != "unix://"+sock {
		t.Fatalf("the harness's HTTPAddr = %q, want the socket", srv.HTTPAddr)
	}
	srv.WaitForLeader(t)
	srv.Wrap(t).SetKVString("over/socket", "yes")
	kv, _, err := clientOf(t, srv).KV().Get("over/socket", nil)
	if err != nil || kv == nil || string(kv.Value) != "yes" {
		t.Fatalf("KV through the socket with the official client: %v, %v", kv, err)
	}
	stopAll(t, []*testutil.TestServer{srv})
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after the agent stopped: %v", err)
	}
}
