package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// loadWriter writes through one agent until stopped, to both shards in
// turn: distinct keys to the KV store, distinct nodes to the catalog. It
// records which writes were acknowledged and when, and when writes failed.
type loadWriter struct {
	id     int
	acked  []loadWrite
	failed []loadWrite
	last   error
	// lastAcked is when the latest acknowledged write to the KV store [0]
	// and to the catalog [1] was sent (Unix nanoseconds), for the test to
	// read while the writer runs.
	lastAcked [2]atomic.Int64
	// inFlight is when the write in flight was sent (Unix nanoseconds, 0
	// between writes), and lastErr the latest failure's text: what a
	// timed-out wait reports, to tell a write held for long from writes
	// refused one after another.
	inFlight atomic.Int64
	lastErr  atomic.Pointer[string]
}

// state says what the writer is doing, for a wait's report.
func (w *loadWriter) state() string {
	s := fmt.Sprintf("w%d:", w.id)
	if sent := w.inFlight.Load(); sent != 0 {
		s += fmt.Sprintf(" a write in flight for %v;", time.Since(time.Unix(0, sent)).Round(time.Millisecond))
	}
	if e := w.lastErr.Load(); e != nil {
		s += " last error: " + *e
	}
	return s
}

type loadWrite struct {
	key, value string // a KV write; a catalog write has no value
	sent, done time.Time
}

func (w *loadWriter) run(c *api.Client, stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		var lw loadWrite
		var err error
		lw.sent = time.Now()
		w.inFlight.Store(lw.sent.UnixNano())
		if n%2 == 0 {
			lw.key, lw.value = fmt.Sprintf("load/w%d/%05d", w.id, n), fmt.Sprintf("w%d-%d", w.id, n)
			_, err = c.KV().Put(&api.KVPair{Key: lw.key, Value: []byte(lw.value)}, nil)
		} else {
			lw.key = fmt.Sprintf("load-w%d-%05d", w.id, n)
			_, err = c.Catalog().Register(&api.CatalogRegistration{Node: lw.key, Address: "192.0.2.1"}, nil)
		}
		lw.done = time.Now()
		w.inFlight.Store(0)
		if err != nil {
			w.failed = append(w.failed, lw)
			w.last = err
			msg := err.Error()
			w.lastErr.Store(&msg)
		} else {
			w.acked = append(w.acked, lw)
			w.lastAcked[n%2].Store(lw.sent.UnixNano())
		}
		time.Sleep(10 * time.Millisecond) // a modest load: the machine runs other tests too
	}
}

// TestThreeServersTwoClients: three servers and two client agents. Every
// agent lists all five members; a service on client A is found by dig on
// a server and on client B; kill -9 of the leader during writes through
// client A loses no acknowledged write, and writes resume once a new
// leader is elected; the killed server restarts and is a voter again; a
// killed client's service leaves the servers' DNS.
func TestThreeServersTwoClients(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig is not installed (Debian: dnsutils)")
	}
	servers := []*server{newServer(t), newServer(t), newServer(t)}
	for i, s := range servers {
		s.node, s.expect = fmt.Sprintf("s%d", i+1), 3
		s.extraArgs = []string{"-retry-join=" + servers[(i+1)%3].serfAddr(), "-retry-interval=200ms"}
	}
	ca, cb := newServer(t), newServer(t)
	ca.node, cb.node = "ca", "cb"
	for _, c := range []*server{ca, cb} {
		c.client = true
		c.extraArgs = []string{"-retry-join=" + servers[0].serfAddr(), "-retry-join=" + servers[1].serfAddr(), "-retry-interval=200ms"}
	}
	agents := append(append([]*server{}, servers...), ca, cb)
	defer func() {
		if t.Failed() {
			for _, a := range agents {
				log, _ := os.ReadFile(a.logPath)
				t.Logf("%s log:\n%s", a.node, log)
			}
		}
	}()
	start := time.Now()
	for _, a := range agents {
		a.launch()
	}
	for _, a := range agents {
		a.waitLeader()
	}
	t.Logf("five agents see a leader %v after launch", time.Since(start).Round(time.Millisecond))
	newClient := func(a *server) *api.Client {
		c, _ := api.NewClient(&api.Config{Address: a.httpAddr(), HttpClient: &http.Client{Timeout: 30 * time.Second}})
		return c
	}
	apis := make([]*api.Client, len(agents))
	for i, a := range agents {
		apis[i] = newClient(a)
	}
	apiA, apiB := apis[3], apis[4]

	// Every agent lists all five, alive.
	poll.Eventually(t, 20*time.Second, "all five members alive on every agent", func() (bool, string) {
		for i, c := range apis {
			members, err := c.Agent().Members(false)
			var alive []string
			for _, m := range members {
				if m.Status == 1 {
					alive = append(alive, m.Name)
				}
			}
			if err != nil || len(members) != 5 || len(alive) != 5 {
				return false, fmt.Sprintf("members on %s: alive %v of %d (%v)", agents[i].node, alive, len(members), err)
			}
		}
		return true, ""
	})

	// A service on each client; A's is found on a server and on client B.
	for i, c := range []*api.Client{apiA, apiB} {
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 10001 + i,
			Check: &api.AgentServiceCheck{TTL: "1m", Status: "passing"}}); err != nil {
			t.Fatal(err)
		}
	}
	hasA := func(got []string) bool {
		for _, l := range got {
			if strings.HasPrefix(l, "1 1 10001 ca.node.dc1.consul.") {
				return true
			}
		}
		return false
	}
	both := func(got []string) bool { return len(got) == 2 && hasA(got) }
	waitDig(t, 10*time.Second, servers[0].dnsAddr(), "web.service.consul", "SRV", both)
	waitDig(t, 10*time.Second, cb.dnsAddr(), "web.service.consul", "SRV", both)

	// Writers through client A; the leader is killed while they write.
	leader, err := apis[0].Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader: %q %v", leader, err)
	}
	dead := -1
	for i, s := range servers {
		if strings.HasSuffix(leader, fmt.Sprintf(":%d", s.raftPort)) {
			dead = i
		}
	}
	if dead < 0 {
		t.Fatalf("leader %s is none of the servers", leader)
	}
	alive := apis[(dead+1)%3]
	writers := make([]*loadWriter, 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		writers[i] = &loadWriter{id: i}
		wg.Add(1)
		go func(w *loadWriter) { defer wg.Done(); w.run(apiA, stop) }(writers[i])
	}
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()
	time.Sleep(500 * time.Millisecond) // let the load run before the kill
	servers[dead].kill()
	killedAt := time.Now()
	t.Logf("killed %s, the leader (%s)", servers[dead].node, leader)

	// Writes resume: every writer has a write to each shard sent after the
	// kill acknowledged.
	poll.Eventually(t, 20*time.Second, "every writer had writes to both shards sent after the kill acknowledged", func() (bool, string) {
		resumed, states := 0, []string{}
		for _, w := range writers {
			if w.lastAcked[0].Load() > killedAt.UnixNano() && w.lastAcked[1].Load() > killedAt.UnixNano() {
				resumed++
			}
			states = append(states, w.state())
		}
		return resumed == len(writers), fmt.Sprintf("%d of %d writers (%s)", resumed, len(writers), strings.Join(states, "; "))
	})
	allResumed := time.Since(killedAt)
	time.Sleep(500 * time.Millisecond) // more load under the new leader
	stopLoad()

	total, errs := 0, 0
	var firstAfter time.Duration = -1
	var maxGap, longestFailure time.Duration
	for _, w := range writers {
		total += len(w.acked)
		errs += len(w.failed)
		for i, a := range w.acked {
			if a.sent.After(killedAt) && (firstAfter < 0 || a.done.Sub(killedAt) < firstAfter) {
				firstAfter = a.done.Sub(killedAt)
			}
			if i > 0 {
				maxGap = max(maxGap, a.done.Sub(w.acked[i-1].done))
			}
		}
		for _, f := range w.failed {
			longestFailure = max(longestFailure, f.done.Sub(f.sent))
		}
		if len(w.failed) > 0 {
			t.Logf("writer %d: %d acknowledged, %d failed, the first %v after the kill; last error: %v",
				w.id, len(w.acked), len(w.failed), w.failed[0].sent.Sub(killedAt).Round(time.Millisecond), w.last)
		}
	}
	if firstAfter < 0 {
		t.Fatalf("no writer's write sent after the kill was acknowledged (%d acknowledged, %d failed)", total, errs)
	}
	t.Logf("load: %d writes acknowledged, %d failed (the longest took %v to fail); the first write sent after the kill was acknowledged %v after it, every writer one to each shard %v after it; longest wait between two acknowledgements of a writer: %v",
		total, errs, longestFailure.Round(time.Millisecond), firstAfter.Round(time.Millisecond), allResumed.Round(time.Millisecond), maxGap.Round(time.Millisecond))

	// Every acknowledged write is readable, on a server and on client A.
	for _, c := range []struct {
		name string
		api  *api.Client
	}{{servers[(dead+1)%3].node, alive}, {"ca", apiA}} {
		consistent := &api.QueryOptions{RequireConsistent: true}
		pairs, _, err := c.api.KV().List("load/", consistent)
		if err != nil {
			t.Fatalf("list on %s: %v", c.name, err)
		}
		got := map[string]string{}
		for _, p := range pairs {
			got[p.Key] = string(p.Value)
		}
		nodes, _, err := c.api.Catalog().Nodes(consistent)
		if err != nil {
			t.Fatalf("nodes on %s: %v", c.name, err)
		}
		for _, n := range nodes {
			got[n.Node] = ""
		}
		for _, w := range writers {
			for _, a := range w.acked {
				if v, ok := got[a.key]; !ok || v != a.value {
					t.Fatalf("on %s, acknowledged write %s=%q reads %q (present: %v)", c.name, a.key, a.value, v, ok)
				}
			}
		}
	}

	// The killed server restarts on its data and is a voter again.
	restartedAt := time.Now()
	servers[dead].launch()
	servers[dead].waitLeader()
	poll.Eventually(t, 30*time.Second, "the restarted server a voter of a led cluster of three", func() (bool, string) {
		conf, err := alive.Operator().RaftGetConfiguration(nil)
		voter, leaders := false, 0
		if err == nil {
			for _, s := range conf.Servers {
				if s.Node == servers[dead].node && s.Voter {
					voter = true
				}
				if s.Leader {
					leaders++
				}
			}
		}
		return err == nil && voter && leaders == 1 && len(conf.Servers) == 3, fmt.Sprintf("%+v %v", conf, err)
	})
	t.Logf("the restarted server is a voter %v after its restart", time.Since(restartedAt).Round(time.Millisecond))
	if l, err := apis[dead].Status().Leader(); err != nil || l == "" {
		t.Fatalf("the restarted server knows no leader: %q %v", l, err)
	}

	// Client B dies: its service leaves the servers' DNS.
	cb.kill()
	killedAt = time.Now()
	waitDig(t, 20*time.Second, servers[(dead+1)%3].dnsAddr(), "web.service.consul", "SRV", func(got []string) bool {
		return len(got) == 1 && hasA(got)
	})
	t.Logf("the killed client's service left DNS %v after the kill", time.Since(killedAt).Round(time.Millisecond))
}
