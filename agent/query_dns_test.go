package agent_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/agent/agenttest"
)

// TestPreparedQueryDNS asks the agent's DNS port for prepared queries by
// name, by ID, through a template and in the RFC 2782 SRV form: answers
// are the query's execution, with its DNS TTL.
func TestPreparedQueryDNS(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=n1")
	c := agenttest.Client(t, a.HTTPAddr())
	for _, r := range []struct{ node, addr, id, status string }{
		{"web-a", "10.1.0.1", "web-1", "passing"},
		{"web-b", "10.1.0.2", "web-2", "warning"},
		{"web-c", "10.1.0.3", "web-3", "critical"},
	} {
		if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: r.node, Address: r.addr,
			Service: &api.AgentService{ID: r.id, Service: "web", Port: 8080},
			Check:   &api.AgentCheck{CheckID: r.id + "-alive", Name: "alive", ServiceID: r.id, Status: r.status},
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pq := c.PreparedQuery()
	id, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "web-ok", Service: api.ServiceQuery{Service: "web"},
		DNS: api.QueryDNSOptions{TTL: "30s"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "passing-",
		Template: api.QueryTemplate{Type: "name_prefix_match"},
		Service:  api.ServiceQuery{Service: "${name.suffix}", OnlyPassing: true}}, nil); err != nil {
		t.Fatal(err)
	}

	client := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	ask := func(qname string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(qname, qtype)
		r, _, err := client.Exchange(m, a.DNSAddr())
		if err != nil {
			t.Fatalf("DNS %s %s: %v", qname, dns.TypeToString[qtype], err)
		}
		return r
	}
	addresses := func(r *dns.Msg) (ips []string, ttl uint32) {
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				ips = append(ips, a.A.String())
				ttl = a.Hdr.Ttl
			}
		}
		slices.Sort(ips)
		return ips, ttl
	}

	for _, qname := range []string{"web-ok.query.consul.", id + ".query.consul.", "web-ok.query.dc1.consul."} {
		r := ask(qname, dns.TypeA)
		if ips, ttl := addresses(r); !slices.Equal(ips, []string{"10.1.0.1", "10.1.0.2"}) || ttl != 30 {
			t.Errorf("%s: %v ttl %d\n%s", qname, ips, ttl, r)
		}
	}
	r := ask("passing-web.query.consul.", dns.TypeA)
	if ips, ttl := addresses(r); !slices.Equal(ips, []string{"10.1.0.1"}) || ttl != 0 {
		t.Errorf("template with OnlyPassing: %v ttl %d\n%s", ips, ttl, r)
	}

	r = ask("_web-ok._tcp.query.consul.", dns.TypeSRV)
	if len(r.Answer) != 2 {
		t.Fatalf("SRV: \n%s", r)
	}
	for _, rr := range r.Answer {
		srv, ok := rr.(*dns.SRV)
		if !ok || srv.Port != 8080 || srv.Hdr.Ttl != 30 {
			t.Errorf("SRV record: %v", rr)
		}
	}

	for _, qname := range []string{"nope.query.consul.", "passing-nope.query.consul."} {
		if r := ask(qname, dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: rcode %s, want NXDOMAIN", qname, dns.RcodeToString[r.Rcode])
		}
	}
}
