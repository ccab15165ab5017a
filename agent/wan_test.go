package agent_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// startDC starts a one-server datacenter with the WAN on.
func startDC(t *testing.T, dc string, extra ...string) (*agent.Agent, *api.Client) {
	t.Helper()
	a := agenttest.Start(t, append([]string{"-server", "-bootstrap", "-data-dir=" + t.TempDir(), "-node=s-" + dc,
		"-datacenter=" + dc, "-serf-wan-port=0", "-nats-gateway-port=0"}, extra...)...)
	return a, agenttest.Client(t, a.HTTPAddr())
}

// wanAddr is a's Serf WAN address, as its own WAN member says.
func wanAddr(t *testing.T, c *api.Client) string {
	t.Helper()
	var members []*api.AgentMember
	poll.Eventually(t, 20*time.Second, "the server's own WAN member", func() (bool, string) {
		var err error
		members, err = c.Agent().Members(true)
		return err == nil && len(members) == 1, fmt.Sprint(members, err)
	})
	return fmt.Sprintf("%s:%d", members[0].Addr, members[0].Port)
}

// TestWANFederation federates two datacenters of one server each through
// /v1/agent/join?wan=1 and checks what crosses: the WAN members named
// <node>.<dc>, the datacenters list, ?dc= reads and writes through the
// official client, DNS names of the other datacenter, and Consul's 500
// for a datacenter nobody knows.
func TestWANFederation(t *testing.T) {
	a1, c1 := startDC(t, "dc1")
	_, c2 := startDC(t, "dc2")
	if err := c1.Agent().Join(wanAddr(t, c2), true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	poll.Eventually(t, 20*time.Second, "both servers in each WAN pool", func() (bool, string) {
		for _, c := range []*api.Client{c1, c2} {
			members, err := c.Agent().Members(true)
			if err != nil {
				return false, err.Error()
			}
			var names []string
			for _, m := range members {
				names = append(names, m.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"s-dc1.dc1", "s-dc2.dc2"}) {
				return false, fmt.Sprint(names)
			}
		}
		return true, ""
	})
	lan, err := c1.Agent().Members(false)
	if err != nil || len(lan) != 1 || lan[0].Name != "s-dc1" {
		t.Errorf("LAN members of dc1: %v %v, want s-dc1 alone", lan, err)
	}
	// Each server's own datacenter first, as Consul sorts them.
	for want, c := range map[string]*api.Client{"dc1": c1, "dc2": c2} {
		dcs, err := c.Catalog().Datacenters()
		if err != nil || len(dcs) != 2 || dcs[0] != want {
			t.Errorf("datacenters from %s: %v %v", want, dcs, err)
		}
	}
	poll.Eventually(t, 20*time.Second, "the WAN coordinates of both datacenters", func() (bool, string) {
		maps, err := c1.Coordinate().Datacenters()
		if err != nil || len(maps) != 2 {
			return false, fmt.Sprint(maps, err)
		}
		return maps[1].Datacenter == "dc2" && maps[1].AreaID == "wan" && len(maps[1].Coordinates) == 1 &&
			maps[1].Coordinates[0].Node == "s-dc2.dc2", fmt.Sprintf("%+v", maps[1])
	})
	if err := c1.Agent().ForceLeaveOpts("ghost.dc2", api.ForceLeaveOpts{WAN: true}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("force-leave -wan of an unknown member: %v, want a 404", err)
	}

	// A write and a read of dc2 from dc1, and back.
	poll.Eventually(t, 20*time.Second, "a KV write to dc2 through dc1", func() (bool, string) {
		_, err := c1.KV().Put(&api.KVPair{Key: "where", Value: []byte("dc2")}, &api.WriteOptions{Datacenter: "dc2"})
		return err == nil, fmt.Sprint(err)
	})
	pair, meta, err := c1.KV().Get("where", &api.QueryOptions{Datacenter: "dc2"})
	if err != nil || pair == nil || string(pair.Value) != "dc2" || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Fatalf("?dc=dc2 get from dc1: %+v %+v %v", pair, meta, err)
	}
	// Datacenter names are lower case; a request in other letters goes to
	// the same place, and one for this datacenter is answered here.
	if p, _, err := c1.KV().Get("where", &api.QueryOptions{Datacenter: "DC2"}); err != nil || p == nil {
		t.Errorf("?dc=DC2 get from dc1: %+v %v", p, err)
	}
	if p, _, err := c1.KV().Get("where", &api.QueryOptions{Datacenter: "DC1"}); err != nil || p != nil {
		t.Errorf("?dc=DC1 get from dc1: %+v %v, want dc1's own answer (no key)", p, err)
	}
	if local, _, err := c1.KV().Get("where", nil); err != nil || local != nil {
		t.Errorf("the key written in dc2 is in dc1 too: %+v %v", local, err)
	}
	if p, _, err := c2.KV().Get("where", nil); err != nil || p == nil {
		t.Errorf("dc2's own read of the key: %+v %v", p, err)
	}
	// A blocking query across: it returns when the key changes.
	done := make(chan *api.KVPair, 1)
	go func() {
		p, _, err := c1.KV().Get("where", &api.QueryOptions{Datacenter: "dc2", WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		if err != nil {
			t.Errorf("blocking ?dc=dc2 get: %v", err)
		}
		done <- p
	}()
	if _, err := c2.KV().Put(&api.KVPair{Key: "where", Value: []byte("dc2, again")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-done:
		if p == nil || string(p.Value) != "dc2, again" {
			t.Errorf("blocking ?dc=dc2 get returned %+v", p)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking ?dc=dc2 get did not return after the key changed")
	}

	// The catalog and health of the other datacenter.
	nodes, _, err := c2.Catalog().Nodes(&api.QueryOptions{Datacenter: "dc1"})
	if err != nil || len(nodes) != 1 || nodes[0].Node != "s-dc1" || nodes[0].Datacenter != "dc1" {
		t.Errorf("dc1's nodes from dc2: %+v %v", nodes, err)
	}
	checks, _, err := c1.Health().Node("s-dc2", &api.QueryOptions{Datacenter: "dc2"})
	if err != nil || len(checks) == 0 {
		t.Errorf("dc2's node health from dc1: %+v %v", checks, err)
	}

	// A datacenter nobody knows.
	_, _, err = c1.KV().Get("where", &api.QueryOptions{Datacenter: "dc9"})
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Errorf("?dc=dc9: %v, want a 500 No path to datacenter", err)
	}

	// DNS of the other datacenter, through dc1's DNS interface.
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion("s-dc2.node.dc2.consul.", dns.TypeA)
	r, _, err := c.Exchange(q, a1.DNSAddr())
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("s-dc2.node.dc2.consul from dc1: %v %v", r, err)
	}
	q.SetQuestion("consul.service.dc2.consul.", dns.TypeSRV)
	r, _, err = c.Exchange(q, a1.DNSAddr())
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("consul.service.dc2.consul SRV from dc1: %v %v", r, err)
	}
	q.SetQuestion("s-dc2.node.dc9.consul.", dns.TypeA)
	r, _, err = c.Exchange(q, a1.DNSAddr())
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("a node of an unknown datacenter: %v %v, want NXDOMAIN", r, err)
	}
}

// rootSecret2 is the management token of TestWANACL's dc2.
const rootSecret2 = "5a1e9f0c-7d3b-4e2a-8c6f-1b9d0e7a3c52"

// TestWANACL checks that the token of a ?dc= request travels with it and
// is judged by the datacenter that answers, with its own tokens: dc1
// enforces nothing, dc2 denies by default and knows only its own
// management token.
func TestWANACL(t *testing.T) {
	_, c1 := startDC(t, "dc1")
	_, c2 := startDC(t, "dc2", "-hcl", fmt.Sprintf(`acl {
  enabled = true
  default_policy = "deny"
  tokens {
    initial_management = %q
    agent = %q
  }
}`, rootSecret2, rootSecret2))
	c2.AddHeader("X-Consul-Token", rootSecret2)
	if err := c1.Agent().Join(wanAddr(t, c2), true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	poll.Eventually(t, 20*time.Second, "a write to dc2 with dc2's token, through dc1", func() (bool, string) {
		_, err := c1.KV().Put(&api.KVPair{Key: "secret", Value: []byte("x")}, &api.WriteOptions{Datacenter: "dc2", Token: rootSecret2})
		return err == nil, fmt.Sprint(err)
	})
	_, _, err := c1.KV().Get("secret", &api.QueryOptions{Datacenter: "dc2"})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("?dc=dc2 read without a token: %v, want dc2's 403", err)
	}
	if _, err := c1.KV().Put(&api.KVPair{Key: "secret", Value: []byte("y")}, &api.WriteOptions{Datacenter: "dc2"}); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Errorf("?dc=dc2 write without a token: %v, want dc2's 403", err)
	}
	p, _, err := c1.KV().Get("secret", &api.QueryOptions{Datacenter: "dc2", Token: rootSecret2})
	if err != nil || p == nil || string(p.Value) != "x" {
		t.Errorf("?dc=dc2 read with dc2's token: %+v %v", p, err)
	}
	// dc1 knows nothing of dc2's tokens and does not need to.
	if p, _, err := c1.KV().Get("secret", nil); err != nil || p != nil {
		t.Errorf("dc1's own read: %+v %v, want no key and no error (ACLs off in dc1)", p, err)
	}
}

// TestWANQueryFailover checks a prepared query's failover to another
// datacenter, over HTTP and DNS: with no healthy instance in dc1, the
// query defined in dc1 executes in dc2 (NearestN, then Datacenters), and
// comes back to dc1 once dc1 has a healthy instance.
func TestWANQueryFailover(t *testing.T) {
	a1, c1 := startDC(t, "dc1")
	_, c2 := startDC(t, "dc2")
	if err := c1.Agent().Join(wanAddr(t, c2), true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	register := func(c *api.Client, port int, status string) {
		t.Helper()
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: port,
			Check: &api.AgentServiceCheck{TTL: "1h", Status: status}}); err != nil {
			t.Fatal(err)
		}
	}
	register(c2, 2222, api.HealthPassing)
	register(c1, 1111, api.HealthCritical)
	for _, failover := range []api.QueryFailoverOptions{{NearestN: 1}, {Datacenters: []string{"dc9", "dc2"}}} {
		name := fmt.Sprintf("web-n%d-d%d", failover.NearestN, len(failover.Datacenters))
		id, _, err := c1.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: name,
			Service: api.ServiceQuery{Service: "web", OnlyPassing: true, Failover: failover}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var res *api.PreparedQueryExecuteResponse
		poll.Eventually(t, 20*time.Second, name+" answered by dc2", func() (bool, string) {
			res, _, err = c1.PreparedQuery().Execute(id, nil)
			return err == nil && len(res.Nodes) == 1, fmt.Sprintf("%+v %v", res, err)
		})
		// dc9, which nobody knows, is not tried, as in Consul.
		wantFailovers := 1
		if res.Datacenter != "dc2" || res.Failovers != wantFailovers || res.Nodes[0].Service.Port != 2222 {
			t.Errorf("%s: datacenter %q, failovers %d, port %d; want dc2, %d, 2222", name, res.Datacenter, res.Failovers,
				res.Nodes[0].Service.Port, wantFailovers)
		}
		c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
		q := new(dns.Msg)
		q.SetQuestion(name+".query.consul.", dns.TypeSRV)
		r, _, err := c.Exchange(q, a1.DNSAddr())
		if err != nil || len(r.Answer) != 1 || r.Answer[0].(*dns.SRV).Port != 2222 {
			t.Errorf("%s.query.consul SRV from dc1: %v %v, want dc2's instance", name, r, err)
		}
	}
	// dc1's instance healthy again: the query answers from dc1.
	register(c1, 1111, api.HealthPassing)
	poll.Eventually(t, 20*time.Second, "the query answered by dc1 again", func() (bool, string) {
		res, _, err := c1.PreparedQuery().Execute("web-n1-d0", nil)
		return err == nil && res.Datacenter == "dc1" && res.Failovers == 0 && len(res.Nodes) == 1 &&
			res.Nodes[0].Service.Port == 1111, fmt.Sprintf("%+v %v", res, err)
	})
}
