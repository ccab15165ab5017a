//go:build unix

package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/testutil/poll"
)

// datacenter is the cluster's datacenter, the agents' default.
const datacenter = "dc1"

// opTimeout bounds every request a client makes: beyond Herald's own
// deadlines (7 s), so that a timeout here means a request that hung, and
// short enough that a paused server costs a client one slow request, not
// the run.
const opTimeout = 10 * time.Second

// builtDir holds the binary built for this run, removed by TestMain.
var builtDir string

// binary returns the herald binary under test: $HERALD_BIN, or one built
// from this repository once per test run.
var binary = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv("HERALD_BIN"); bin != "" {
		return bin, nil
	}
	dir, err := os.MkdirTemp("", "herald-robustness-bin-")
	if err != nil {
		return "", err
	}
	builtDir = dir
	bin := filepath.Join(dir, "herald")
	build := exec.Command("go", "build", "-o", bin, "github.com/heraldhq/herald/cmd/herald")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/herald: %v\n%s", err, out)
	}
	return bin, nil
})

// Cluster is three Herald servers run as processes of their own, each on
// a loopback address of its own (127.X.Y.2-4, X and Y random per cluster,
// so that a partition's firewall rules touch no other test's traffic),
// which the nemeses kill, restart, pause and cut off.
type Cluster struct {
	t   testing.TB
	dir string

	mu      sync.Mutex
	servers []*bench.Herald // replaced in place when a server restarts
	paused  []bool
	down    []bool // killed and not restarted yet

	// clients are API clients, one per server; a server keeps its address
	// across restarts, so they stay valid.
	clients []*api.Client

	// addrs are the servers' addresses; groups their group IDs (nil when
	// this process may not set them), by which fw's rules cut links.
	addrs  []string
	groups []uint32
	fw     firewall
}

// StartCluster starts three servers and returns once each has a leader
// for both shards and a ?consistent read succeeds through each.
func StartCluster(t testing.TB, rng *rand.Rand) *Cluster {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, dir: t.TempDir(), paused: make([]bool, 3), down: make([]bool, 3)}
	base := fmt.Sprintf("127.%d.%d.", 100+rng.IntN(150), 1+rng.IntN(250))
	c.addrs = []string{base + "2", base + "3", base + "4"}
	if os.Geteuid() == 0 {
		g := uint32(40000 + rng.IntN(20000))
		c.groups = []uint32{g, g + 1, g + 2}
	}
	c.servers, _, err = bench.StartHeraldCluster(bench.ClusterConfig{Bin: bin, Dir: c.dir, Servers: 3,
		ServerAddrs: c.addrs, ServerGroups: c.groups})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	t.Cleanup(c.fw.removeAll)
	for _, s := range c.servers {
		cl, err := api.NewClient(&api.Config{Address: s.HTTPAddr, HttpClient: &http.Client{Timeout: opTimeout}})
		if err != nil {
			t.Fatal(err)
		}
		c.clients = append(c.clients, cl)
	}
	if err := c.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// stop resumes paused servers (a stopped process ignores SIGTERM) and
// stops every server; on failure it shows the end of each log.
func (c *Cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.servers {
		if c.paused[i] {
			_ = syscall.Kill(-s.Pid(), syscall.SIGCONT)
		}
	}
	var wg sync.WaitGroup
	for _, s := range c.servers {
		wg.Add(1)
		go func() { defer wg.Done(); s.Stop() }()
	}
	wg.Wait()
	if c.t.Failed() {
		for _, s := range c.servers {
			c.t.Logf("the end of %s's log (%s):\n%s", s.Name, s.LogPath, s.Tail(15))
		}
	}
}

// N is the number of servers.
func (c *Cluster) N() int { return len(c.clients) }

// Client is the API client of server i.
func (c *Cluster) Client(i int) *api.Client { return c.clients[i] }

// Name is server i's node name.
func (c *Cluster) Name(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i].Config.Node
}

// Servers is a copy of the running servers, for reading their addresses.
func (c *Cluster) Servers() []*bench.Herald {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*bench.Herald(nil), c.servers...)
}

// Leaders returns the servers leading the catalog and kv shards, as every
// server names them; an error while they disagree or one does not answer.
func (c *Cluster) Leaders(ctx context.Context) (catalog, kv int, err error) {
	servers := c.Servers()
	if catalog, err = bench.CatalogLeader(ctx, servers); err != nil {
		return -1, -1, err
	}
	if kv, err = bench.KVLeader(ctx, servers, datacenter); err != nil {
		return -1, -1, err
	}
	return catalog, kv, nil
}

// healthy checks once that every server runs, all name the same leaders
// and a ?consistent read of the kv shard succeeds through each.
func (c *Cluster) healthy() (bool, string) {
	for _, s := range c.Servers() {
		if err := s.Alive(); err != nil {
			return false, err.Error()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Leaders(ctx); err != nil {
		return false, err.Error()
	}
	for i, cl := range c.clients {
		if _, _, err := cl.KV().Get("robustness/health", (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx)); err != nil {
			return false, fmt.Sprintf("%s: ?consistent read: %v", c.Name(i), err)
		}
	}
	return true, ""
}

// WaitHealthy polls until the cluster is healthy (see healthy).
func (c *Cluster) WaitHealthy(within time.Duration) error {
	if state, ok := poll.Until(within, c.healthy); !ok {
		return fmt.Errorf("the cluster was not healthy within %v: %s", within, state)
	}
	return nil
}

// Kill kills server i with SIGKILL (its whole process group), as kill -9.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.down[i] = true
	c.mu.Unlock()
	s.Kill()
}

// Restart starts killed server i again on the same ports and data.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.servers[i].Restart()
	if err != nil {
		return err
	}
	c.servers[i], c.down[i] = h, false
	return nil
}

// Pause stops server i with SIGSTOP: it keeps its sockets but answers
// nothing, as a process stuck in a long GC pause or a frozen VM.
func (c *Cluster) Pause(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = syscall.Kill(-c.servers[i].Pid(), syscall.SIGSTOP)
	c.paused[i] = true
}

// Resume continues server i after Pause.
func (c *Cluster) Resume(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = syscall.Kill(-c.servers[i].Pid(), syscall.SIGCONT)
	c.paused[i] = false
}
