package main

import (
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/testutil/poll"
)

// datacenter is three servers and a client agent on loopback addresses of
// their own (subnet.firstIP to subnet.firstIP+3), with Consul's default
// ports, the servers federated with another datacenter's through
// -retry-join-wan. Each test of federation takes a subnet no other test
// uses (127.0.13 here), so that they can run side by side. A test adds its
// own flags to extraArgs before launch.
type datacenter struct {
	name    string
	servers []*server
	client  *server
}

func newDatacenter(t *testing.T, subnet, name string, firstIP int, wanPeer string) *datacenter {
	d := &datacenter{name: name}
	ip := func(i int) string { return fmt.Sprintf("%s.%d", subnet, firstIP+i) }
	for i := range 3 {
		s := newLoopbackServer(t, ip(i))
		s.node, s.expect = fmt.Sprintf("%s-s%d", name, i+1), 3
		s.extraArgs = []string{"-datacenter=" + name, "-retry-join=" + ip(0), "-retry-interval=200ms",
			"-serf-wan-port=8302", "-retry-join-wan=" + wanPeer, "-retry-interval-wan=300ms"}
		d.servers = append(d.servers, s)
	}
	d.client = newLoopbackServer(t, ip(3))
	d.client.node, d.client.client = name+"-c1", true
	d.client.extraArgs = []string{"-datacenter=" + name, "-retry-join=" + ip(0), "-retry-interval=200ms"}
	return d
}

func (d *datacenter) all() []*server { return append(append([]*server{}, d.servers...), d.client) }

func (d *datacenter) launch() {
	for _, s := range d.all() {
		s.launch()
	}
}

func (d *datacenter) kill() {
	for _, s := range d.all() {
		s.kill()
	}
}

func (d *datacenter) waitLeader() {
	for _, s := range d.servers {
		s.waitLeaderWithin(60 * time.Second)
	}
}

func apiClient(t *testing.T, s *server) *api.Client {
	t.Helper()
	// The HTTP client's own timeout is long: a cross-datacenter request
	// that fails must fail on its own, with a 500, well before it.
	c, err := api.NewClient(&api.Config{Address: s.httpAddr(), HttpClient: &http.Client{Timeout: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitWANMembers waits until `members -wan`, asked of s, lists every one
// of servers alive, and returns its output. On failure it shows what each
// server sees and their logs: why one stays out of the pool is in its own
// log or its join peer's.
func waitWANMembers(t *testing.T, s *server, servers []*server) string {
	t.Helper()
	membersWAN := func(of *server) (string, error) {
		b, err := exec.Command(heraldBin, "members", "-wan", "-http-addr="+of.httpAddr()).CombinedOutput()
		return string(b), err
	}
	out, ok := poll.Until(60*time.Second, func() (bool, string) {
		out, err := membersWAN(s)
		if err != nil || strings.Count(out, "alive") != len(servers) {
			return false, out
		}
		for _, o := range servers {
			if !strings.Contains(out, o.node+".") {
				return false, out
			}
		}
		return true, out
	})
	if !ok {
		var views strings.Builder
		for _, o := range servers {
			v, err := membersWAN(o)
			fmt.Fprintf(&views, "== members -wan at %s (err %v) ==\n%s\n", o.node, err, v)
		}
		t.Fatalf("members -wan at %s did not list the %d servers alive within 60s:\n%s\n%s\nlogs:\n%s",
			s.node, len(servers), out, views.String(), s.logs())
	}
	return out
}

// TestTwoDatacenters federates two datacenters of three servers and a
// client agent each and checks, from either side: the WAN members, ?dc=
// KV, catalog and health through the official client, DNS names of the
// other datacenter from a client agent; then the other datacenter killed
// (cross requests answer 500 No path to datacenter, local ones are still
// served) and started again (cross requests work again by themselves).
func TestTwoDatacenters(t *testing.T) {
	dc1 := newDatacenter(t, "127.0.13", "dc1", 1, "127.0.13.11:8302")
	dc2 := newDatacenter(t, "127.0.13", "dc2", 11, "127.0.13.1:8302")
	dc1.launch()
	dc2.launch()
	dc1.waitLeader()
	dc2.waitLeader()
	c1, c2 := apiClient(t, dc1.client), apiClient(t, dc2.client)

	out := waitWANMembers(t, dc1.servers[1], append(dc1.servers, dc2.servers...))
	if !strings.Contains(out, "dc1-s1.dc1") || strings.Contains(out, "-c1") {
		t.Errorf("members -wan: the servers as <node>.<dc>, no client agent:\n%s", out)
	}

	if err := c2.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 8080}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "a KV write to dc2 through dc1's client agent", func() (bool, string) {
		_, err := c1.KV().Put(&api.KVPair{Key: "app/dc", Value: []byte("two")}, &api.WriteOptions{Datacenter: "dc2"})
		return err == nil, fmt.Sprint(err)
	})
	// A client agent reads its own copy, which catches up with a write
	// it did not make within moments.
	readEventually := func(c *api.Client, what, want string) {
		t.Helper()
		poll.Eventually(t, 10*time.Second, what, func() (bool, string) {
			p, _, err := c.KV().Get("app/dc", nil)
			return err == nil && p != nil && string(p.Value) == want, fmt.Sprintf("%+v %v", p, err)
		})
	}
	readEventually(c2, "dc2's own read of the key written through dc1", "two")
	// Every server's gateway links with every other's within moments of
	// the WAN join; until then some answer that they have no path.
	poll.Eventually(t, 30*time.Second, "a KV write to dc1 through dc2's client agent", func() (bool, string) {
		_, err := c2.KV().Put(&api.KVPair{Key: "app/dc", Value: []byte("one")}, &api.WriteOptions{Datacenter: "dc1"})
		return err == nil, fmt.Sprint(err)
	})
	readEventually(c1, "dc1's own read of the key written through dc2", "one")
	if p, _, err := c1.KV().Get("app/dc", &api.QueryOptions{Datacenter: "dc2"}); err != nil || p == nil || string(p.Value) != "two" {
		t.Errorf("?dc=dc2 read from dc1: %+v %v", p, err)
	}
	poll.Eventually(t, 30*time.Second, "dc2's web in its catalog and health, from dc1", func() (bool, string) {
		svcs, _, err := c1.Catalog().Service("web", "", &api.QueryOptions{Datacenter: "dc2"})
		if err != nil || len(svcs) != 1 || svcs[0].Node != "dc2-c1" || svcs[0].Datacenter != "dc2" {
			return false, fmt.Sprintf("catalog: %+v %v", svcs, err)
		}
		entries, _, err := c1.Health().Service("web", "", true, &api.QueryOptions{Datacenter: "dc2"})
		if err != nil || len(entries) != 1 || entries[0].Node.Address != "127.0.13.14" {
			return false, fmt.Sprintf("health: %+v %v", entries, err)
		}
		return true, ""
	})
	if local, _, err := c1.Catalog().Service("web", "", nil); err != nil || len(local) != 0 {
		t.Errorf("dc1's own catalog has dc2's web: %+v %v", local, err)
	}
	dcs, err := c1.Catalog().Datacenters()
	if err != nil || len(dcs) != 2 {
		t.Errorf("catalog datacenters from a client agent: %v %v", dcs, err)
	}

	// DNS of dc2 asked of dc1's client agent.
	ask := func(name string, qtype uint16) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		r, _, err := (&dns.Client{Timeout: 10 * time.Second}).Exchange(q, dc1.client.dnsAddr())
		if err != nil {
			t.Fatalf("DNS %s: %v", name, err)
		}
		return r
	}
	if r := ask("web.service.dc2.consul.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.13.14" {
		t.Errorf("web.service.dc2.consul from dc1's client agent:\n%s", r)
	}
	if r := ask("_web._tcp.service.dc2.consul.", dns.TypeSRV); len(r.Answer) != 1 || r.Answer[0].(*dns.SRV).Port != 8080 {
		t.Errorf("_web._tcp.service.dc2.consul SRV:\n%s", r)
	}
	if r := ask("dc2-s2.node.dc2.consul.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.13.12" {
		t.Errorf("dc2-s2.node.dc2.consul:\n%s", r)
	}

	// A prepared query of dc1 whose service has no instance in dc1 fails
	// over to dc2, over HTTP and DNS.
	if _, _, err := c1.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "web-anywhere",
		Service: api.ServiceQuery{Service: "web", Failover: api.QueryFailoverOptions{NearestN: 1}}}, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "web-anywhere answered by dc2", func() (bool, string) {
		res, _, err := c1.PreparedQuery().Execute("web-anywhere", nil)
		return err == nil && res.Datacenter == "dc2" && res.Failovers == 1 && len(res.Nodes) == 1, fmt.Sprintf("%+v %v", res, err)
	})
	if r := ask("web-anywhere.query.consul.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.13.14" {
		t.Errorf("web-anywhere.query.consul from dc1's client agent:\n%s", r)
	}

	// dc2 dies: dc1 serves itself, and says it has no path to dc2.
	dc2.kill()
	poll.Eventually(t, 30*time.Second, "?dc=dc2 answers 500 No path to datacenter", func() (bool, string) {
		_, _, err := c1.KV().Get("app/dc", &api.QueryOptions{Datacenter: "dc2"})
		var se api.StatusError
		return errors.As(err, &se) && se.Code == 500 && strings.Contains(se.Body, "No path to datacenter"), fmt.Sprint(err)
	})
	for range 3 {
		_, _, err := c1.Catalog().Nodes(&api.QueryOptions{Datacenter: "dc2"})
		var se api.StatusError
		if !errors.As(err, &se) || se.Code != 500 {
			t.Fatalf("?dc=dc2 with dc2 down: %v, want a 500 at once", err)
		}
	}
	if _, err := c1.KV().Put(&api.KVPair{Key: "app/alone", Value: []byte("yes")}, nil); err != nil {
		t.Fatalf("dc1's own write with dc2 down: %v", err)
	}
	if p, _, err := c1.KV().Get("app/alone", nil); err != nil || p == nil {
		t.Fatalf("dc1's own read with dc2 down: %+v %v", p, err)
	}

	// dc2 comes back on its data: the federation heals by itself.
	dc2.launch()
	dc2.waitLeader()
	poll.Eventually(t, 90*time.Second, "?dc=dc2 served again", func() (bool, string) {
		p, _, err := c1.KV().Get("app/dc", &api.QueryOptions{Datacenter: "dc2"})
		return err == nil && p != nil && string(p.Value) == "two", fmt.Sprintf("%+v %v", p, err)
	})
	poll.Eventually(t, 30*time.Second, "dc1 through dc2 again", func() (bool, string) {
		p, _, err := c2.KV().Get("app/alone", &api.QueryOptions{Datacenter: "dc1"})
		return err == nil && p != nil, fmt.Sprintf("%+v %v", p, err)
	})
}
