package agent_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/testutil/poll"
)

// TestWANTranslateAddrs checks translate_wan_addrs as Consul has it: dc1
// has it on, so its answers about dc2's nodes and services (?dc=dc2 reads
// through the official client, DNS names in dc2) give their "wan" tagged
// addresses and port; dc2's own answers, and dc1's about itself, keep the
// LAN ones.
func TestWANTranslateAddrs(t *testing.T) {
	a1, c1 := startDC(t, "dc1", "-hcl", "translate_wan_addrs = true")
	a2, c2 := startDC(t, "dc2")
	if err := c1.Agent().Join(wanAddr(t, c2), true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	const (
		nodeLAN, nodeWAN = "10.0.0.5", "198.51.100.5"
		svcLAN, svcWAN   = "10.0.0.6", "198.51.100.6"
		portLAN, portWAN = 80, 8080
	)
	reg := &api.CatalogRegistration{Node: "ext", Address: nodeLAN,
		TaggedAddresses: map[string]string{"lan": nodeLAN, "wan": nodeWAN},
		Service: &api.AgentService{Service: "web", Address: svcLAN, Port: portLAN,
			TaggedAddresses: map[string]api.ServiceAddress{"wan": {Address: svcWAN, Port: portWAN}}}}
	if _, err := c2.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	inDC2 := &api.QueryOptions{Datacenter: "dc2"}
	poll.Eventually(t, 20*time.Second, "dc2's nodes through dc1", func() (bool, string) {
		nodes, _, err := c1.Catalog().Nodes(inDC2)
		return err == nil && len(nodes) == 2, fmt.Sprint(nodes, err)
	})

	nodes, meta, err := c1.Catalog().Nodes(inDC2)
	if err != nil || !meta.AddressTranslationEnabled {
		t.Fatalf("?dc=dc2 nodes from dc1: %v, translation header %v", err, meta)
	}
	for _, n := range nodes {
		if n.Node == "ext" && n.Address != nodeWAN {
			t.Errorf("?dc=dc2 catalog nodes from dc1: ext at %s, want its WAN address %s", n.Address, nodeWAN)
		}
	}
	node, _, err := c1.Catalog().Node("ext", inDC2)
	if err != nil || node == nil || node.Node.Address != nodeWAN {
		t.Errorf("?dc=dc2 catalog node from dc1: %+v %v, want address %s", node, err, nodeWAN)
	}
	svcs, _, err := c1.Catalog().Service("web", "", inDC2)
	if err != nil || len(svcs) != 1 || svcs[0].Address != nodeWAN || svcs[0].ServiceAddress != svcWAN || svcs[0].ServicePort != portWAN {
		t.Errorf("?dc=dc2 catalog service from dc1: %+v %v, want %s, %s:%d", svcs, err, nodeWAN, svcWAN, portWAN)
	}
	entries, _, err := c1.Health().Service("web", "", false, inDC2)
	if err != nil || len(entries) != 1 || entries[0].Node.Address != nodeWAN ||
		entries[0].Service.Address != svcWAN || entries[0].Service.Port != portWAN {
		t.Errorf("?dc=dc2 health service from dc1: %+v %v", entries, err)
	}

	// dc2 about itself: LAN addresses.
	svcs, meta, err = c2.Catalog().Service("web", "", nil)
	if err != nil || len(svcs) != 1 || svcs[0].Address != nodeLAN || svcs[0].ServiceAddress != svcLAN ||
		svcs[0].ServicePort != portLAN || meta.AddressTranslationEnabled {
		t.Errorf("dc2's own catalog service: %+v %v", svcs, err)
	}
	// dc1 about itself, ?dc=dc1 or not: its own addresses.
	self, _, err := c1.Catalog().Node("s-dc1", &api.QueryOptions{Datacenter: "dc1"})
	if err != nil || self == nil || self.Node.Address != "127.0.0.1" {
		t.Errorf("dc1's own node: %+v %v", self, err)
	}

	// DNS: dc1's interface answers dc2's names with the WAN addresses,
	// with EDNS0 in the query or not; dc2's answers its own with LAN ones.
	lookup := func(addr, name string, qtype uint16, edns bool) *dns.Msg {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		if edns {
			q.SetEdns0(4096, false)
		}
		r, _, err := (&dns.Client{Net: "udp", Timeout: 5 * time.Second}).Exchange(q, addr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Fatalf("%s from %s: %v %v", name, addr, r, err)
		}
		if (r.IsEdns0() != nil) != edns {
			t.Errorf("%s from %s: OPT record in the answer %v, want %v", name, addr, r.IsEdns0() != nil, edns)
		}
		return r
	}
	aRecord := func(r *dns.Msg) string {
		if a, ok := r.Answer[0].(*dns.A); ok {
			return a.A.String()
		}
		return fmt.Sprint(r.Answer)
	}
	for _, edns := range []bool{false, true} {
		if got := aRecord(lookup(a1.DNSAddr(), "ext.node.dc2.consul.", dns.TypeA, edns)); got != nodeWAN {
			t.Errorf("ext.node.dc2.consul from dc1 (EDNS0 %v): %s, want %s", edns, got, nodeWAN)
		}
		if got := aRecord(lookup(a1.DNSAddr(), "web.service.dc2.consul.", dns.TypeA, edns)); got != svcWAN {
			t.Errorf("web.service.dc2.consul from dc1 (EDNS0 %v): %s, want %s", edns, got, svcWAN)
		}
	}
	srv := lookup(a1.DNSAddr(), "web.service.dc2.consul.", dns.TypeSRV, false)
	if s, ok := srv.Answer[0].(*dns.SRV); !ok || s.Port != portWAN {
		t.Errorf("web.service.dc2.consul SRV from dc1: %v, want port %d", srv.Answer, portWAN)
	}

	// A prepared query of dc1 failing over to dc2, over HTTP and DNS.
	if _, _, err := c1.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "web-anywhere",
		Service: api.ServiceQuery{Service: "web", Failover: api.QueryFailoverOptions{Datacenters: []string{"dc2"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	res, _, err := c1.PreparedQuery().Execute("web-anywhere", nil)
	if err != nil || res.Datacenter != "dc2" || len(res.Nodes) != 1 || res.Nodes[0].Node.Address != nodeWAN ||
		res.Nodes[0].Service.Address != svcWAN || res.Nodes[0].Service.Port != portWAN {
		t.Errorf("a query failing over to dc2 from dc1: %+v %v", res, err)
	}
	if got := aRecord(lookup(a1.DNSAddr(), "web-anywhere.query.consul.", dns.TypeA, false)); got != svcWAN {
		t.Errorf("web-anywhere.query.consul from dc1: %s, want %s", got, svcWAN)
	}

	if got := aRecord(lookup(a2.DNSAddr(), "ext.node.dc2.consul.", dns.TypeA, false)); got != nodeLAN {
		t.Errorf("ext.node.dc2.consul from dc2: %s, want %s", got, nodeLAN)
	}
	if got := aRecord(lookup(a2.DNSAddr(), "web.service.consul.", dns.TypeA, false)); net.ParseIP(got).String() != svcLAN {
		t.Errorf("web.service.consul from dc2: %s, want %s", got, svcLAN)
	}
}
