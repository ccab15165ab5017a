package watch

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// clusterWait bounds how long a test waits for cluster formation and for a
// stream leader to be elected again after its server went away (NATS's Raft
// election timeouts are several seconds).
const clusterWait = 25 * time.Second

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago. A cluster's routes must be known before its servers start, so
// its servers cannot use -1 (a port picked at listen time).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// testCluster is n embedded servers with routes to each other.
type testCluster struct {
	servers []*EmbeddedServer
}

// startCluster starts n servers, each given the routes of all n (its own
// included, as NATS recommends), and waits until the JetStream cluster has a
// meta leader every server follows.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	// A port found free may be taken by the time a server listens on it
	// (by anything on the machine asking for a random port): start again
	// on other ports then.
	for attempt := 1; ; attempt++ {
		c, err := tryStartCluster(t, n)
		if err == nil {
			c.waitReady(t)
			return c
		}
		if attempt == 5 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v; trying other ports", attempt, err)
	}
}

func tryStartCluster(t *testing.T, n int) (*testCluster, error) {
	ports := freePorts(t, 2*n) // routes, then clients
	routes := make([]string, n)
	for i := range n {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[i])
	}
	c := &testCluster{}
	for i := range n {
		s, err := StartServer(ServerConfig{
			Host:        "127.0.0.1",
			Port:        ports[n+i],
			StoreDir:    t.TempDir(),
			ServerName:  fmt.Sprintf("s%d", i+1),
			Logger:      quietLogger(),
			ClusterName: "herald-dc1",
			ClusterHost: "127.0.0.1",
			ClusterPort: ports[i],
			Routes:      routes,
		})
		if err != nil {
			for _, s := range c.servers {
				s.Shutdown()
			}
			return nil, fmt.Errorf("StartServer s%d: %w", i+1, err)
		}
		t.Cleanup(s.Shutdown)
		c.servers = append(c.servers, s)
	}
	return c, nil
}

func (c *testCluster) waitReady(t *testing.T) {
	t.Helper()
	n := len(c.servers)
	poll.True(t, clusterWait, "routes between all servers", func() bool {
		for _, s := range c.servers {
			if s.NumRoutes() < n-1 {
				return false
			}
		}
		return true
	})
	poll.True(t, clusterWait, "a JetStream meta leader followed by every server", func() bool {
		for _, s := range c.servers {
			if !s.JetStreamClusterReady() {
				return false
			}
		}
		return true
	})
}

func (c *testCluster) urls() []string {
	var out []string
	for _, s := range c.servers {
		out = append(out, s.ClientURL())
	}
	return out
}

func (c *testCluster) byName(t *testing.T, name string) int {
	t.Helper()
	for i, s := range c.servers {
		if s.Name() == name {
			return i
		}
	}
	t.Fatalf("no server named %q", name)
	return -1
}

// waitJetStream polls until the JetStream API answers through nc.
func waitJetStream(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	poll.True(t, clusterWait, "JetStream account info", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
}

// streamCluster returns the stream's cluster info as the stream leader
// reports it, or nil while it cannot be had.
func streamCluster(js jetstream.JetStream, name string) *jetstream.ClusterInfo {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil
	}
	return s.CachedInfo().Cluster
}

// waitStreamReplicated waits until the stream has a leader and want-1
// current replicas.
func waitStreamReplicated(t *testing.T, js jetstream.JetStream, name string, want int) *jetstream.ClusterInfo {
	t.Helper()
	var ci *jetstream.ClusterInfo
	poll.True(t, clusterWait, fmt.Sprintf("stream %s with a leader and %d current replicas", name, want-1), func() bool {
		ci = streamCluster(js, name)
		if ci == nil || ci.Leader == "" || len(ci.Replicas) != want-1 {
			return false
		}
		for _, r := range ci.Replicas {
			if !r.Current || r.Offline {
				return false
			}
		}
		return true
	})
	return ci
}

func TestClusterConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  ServerConfig
		want string
	}{
		{"port without routes", ServerConfig{ClusterName: "c", ClusterPort: -1, ServerName: "a"}, "needs Routes"},
		{"routes without cluster name", ServerConfig{Routes: []string{"nats-route://127.0.0.1:1"}, ServerName: "a"}, "ClusterName"},
		{"routes without server name", ServerConfig{Routes: []string{"nats-route://127.0.0.1:1"}, ClusterName: "c"}, "ServerName"},
		{"bad route", ServerConfig{Routes: []string{"127.0.0.1"}, ClusterName: "c", ServerName: "a"}, "bad route"},
		{"bad cluster name", ServerConfig{Routes: []string{"nats-route://127.0.0.1:1"}, ClusterName: "herald dc1", ServerName: "a"}, "cluster name"},
	} {
		c.cfg.Host, c.cfg.Port, c.cfg.Logger = "127.0.0.1", -1, quietLogger()
		s, err := StartServer(c.cfg)
		if err == nil {
			s.Shutdown()
			t.Errorf("%s: started", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
}

// Without Routes a ClusterName is harmless: the server is a standalone
// JetStream server as before.
func TestClusterNameWithoutRoutes(t *testing.T) {
	s, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Logger: quietLogger(), ClusterName: "herald-dc1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if s.ClusterAddr() != "" || s.JetStreamClusterReady() {
		t.Errorf("standalone server has cluster address %q, clustered JetStream %v", s.ClusterAddr(), s.JetStreamClusterReady())
	}
}

// Three servers with routes to each other are one NATS cluster: a message
// published through one reaches a subscriber on another.
func TestClusterRoutesMessages(t *testing.T) {
	c := startCluster(t, 3)
	for i, s := range c.servers {
		if s.ClusterAddr() == "" {
			t.Errorf("server %d has no cluster address", i)
		}
	}
	pub := connect(t, c.servers[0].ClientURL())
	sub := connect(t, c.servers[2].ClientURL())
	ch := make(chan *nats.Msg, 1024)
	s, err := sub.ChanSubscribe("herald.test", ch)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unsubscribe()
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	// The subscription's interest reaches the other servers
	// asynchronously: publish until it arrives.
	deadline := time.Now().Add(clusterWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := pub.Publish("herald.test", []byte("hello")); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-ch:
			if string(m.Data) != "hello" {
				t.Fatalf("got %q", m.Data)
			}
			return
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatal("a message published on s1 never reached a subscriber on s3")
		}
	}
}

// A 3-replica stream is created through one server (and an existing 1-replica
// stream is scaled up by the same create-or-update), takes publishes, and a
// subscriber on another server receives every event once, in order.
func TestClusterReplicatedStream(t *testing.T) {
	c := startCluster(t, 3)
	nc := connect(t, c.servers[0].ClientURL())
	js := jsFor(t, nc)
	waitJetStream(t, js)

	evs := genEvents(1, 300)
	log := newMemLog()
	log.Append(evs[:100]...)
	p1, err := NewPublisher(PublisherConfig{Datacenter: "dc1", Shard: event.ShardKV, Log: log, Conn: nc, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("NewPublisher R1: %v", err)
	}
	stop := runPublisher(t, p1)
	poll.True(t, waitLong, "first events published", func() bool { return p1.PublishedIndex() == evs[99].Index })
	stop()

	p3, err := NewPublisher(PublisherConfig{Datacenter: "dc1", Shard: event.ShardKV, Log: log, Conn: nc, Replicas: 3, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("NewPublisher R3: %v", err)
	}
	name := p3.StreamName()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.CachedInfo().Config.Replicas; r != 3 {
		t.Fatalf("stream has %d replicas, want 3", r)
	}
	waitStreamReplicated(t, js, name, 3)
	runPublisher(t, p3)
	log.Append(evs[100:]...)
	last := evs[len(evs)-1].Index
	poll.True(t, waitLong, "all events published", func() bool { return p3.PublishedIndex() == last })

	other := connect(t, c.servers[1].ClientURL())
	expectWholeStream(t, other, evs)
}

// The publisher keeps publishing every event once and in order while the
// server it is connected to, which also leads the stream, is shut down: its
// connection moves to another server and the stream's leadership to another
// replica.
func TestClusterPublisherFailover(t *testing.T) {
	c := startCluster(t, 3)
	admin := connect(t, c.servers[0].ClientURL())
	ajs := jsFor(t, admin)
	waitJetStream(t, ajs)

	// Create the stream first, so that the publisher can be connected to
	// the server that leads it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := streamConfig("dc1", event.ShardKV, DefaultStreamMaxAge, DefaultStreamMaxMsgs, 3)
	// Placing three replicas needs every server's JetStream to have joined
	// the meta group, which may take a moment after the API answers.
	for {
		_, err := ajs.CreateStream(ctx, cfg)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create stream: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling, bounded by ctx
	}
	ci := waitStreamReplicated(t, ajs, cfg.Name, 3)
	leader := c.byName(t, ci.Leader)

	urls := c.urls()
	urls[0], urls[leader] = urls[leader], urls[0]
	nc := connect(t, strings.Join(urls, ","),
		nats.DontRandomize(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if got := nc.ConnectedUrl(); got != c.servers[leader].ClientURL() {
		t.Fatalf("publisher connected to %s, want the stream leader %s", got, c.servers[leader].ClientURL())
	}

	evs := genEvents(1, 2000)
	log := newMemLog()
	p, err := NewPublisher(PublisherConfig{Datacenter: "dc1", Shard: event.ShardKV, Log: log, Conn: nc, Replicas: 3, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	runPublisher(t, p)

	// Shut the server down while the first half is being published (a
	// tight poll catches the publisher part-way), and append the second
	// half only afterwards, so that it can only be published after the
	// failover.
	cut := len(evs) / 2
	for evs[cut].Index == evs[cut-1].Index {
		cut++
	}
	log.Append(evs[:cut]...)
	poll.True(t, waitLong, "a quarter of the events published", func() bool { return p.PublishedIndex() >= evs[cut/2].Index })
	atShutdown := p.PublishedIndex()
	c.servers[leader].Shutdown()
	log.Append(evs[cut:]...)
	t.Logf("stream leader %s shut down with events up to index %d of %d acknowledged", ci.Leader, atShutdown, evs[cut-1].Index)

	last := evs[len(evs)-1].Index
	poll.True(t, clusterWait, "all events published after the failover", func() bool { return p.PublishedIndex() == last })
	if got := nc.ConnectedUrl(); got == c.servers[leader].ClientURL() {
		t.Errorf("publisher still connected to the stopped server")
	}

	survivor := (leader + 1) % len(c.servers)
	other := connect(t, c.servers[survivor].ClientURL())
	ojs := jsFor(t, other)
	if ci := streamCluster(ojs, cfg.Name); ci == nil || ci.Leader == "" || ci.Leader == c.servers[leader].Name() {
		t.Errorf("stream leader after the failover: %+v", ci)
	}
	expectWholeStream(t, other, evs)
}

// expectWholeStream checks, through a server of the cluster, that the kv
// stream holds evs and nothing else: a subscription from the start gets
// exactly evs, in order, and keeps running.
func expectWholeStream(t *testing.T, nc *nats.Conn, evs []event.Event) {
	t.Helper()
	r := &received{ch: make(chan event.Event, len(evs)+10)}
	stopSub, errs, err := Subscribe(context.Background(), jsFor(t, nc), "dc1", event.ShardKV, 0, r.handler)
	if err != nil {
		t.Fatal(err)
	}
	defer stopSub()
	r.expect(t, evs)
	if got := readStream(t, nc, "dc1", event.ShardKV); len(got) != len(evs) {
		t.Errorf("stream holds %d messages, want %d", len(got), len(evs))
	}
	r.none(t)
	select {
	case err := <-errs:
		t.Fatalf("subscription ended: %v", err)
	default:
	}
}
