package dnsserver

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/health"
)

// testCase is one question and the whole expected response, CoreDNS style.
type testCase struct {
	Qname  string
	Qtype  uint16
	Rcode  int
	Answer []dns.RR
	Ns     []dns.RR
	Extra  []dns.RR
}

// runCases asks every case over UDP and over TCP; the cases stay small
// enough that the transports must agree.
func runCases(t *testing.T, cfg Config, cases []testCase) {
	t.Helper()
	s := startServer(t, cfg)
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
				r := query(t, network, s.Addr(), tc.Qname, tc.Qtype)
				if r.Rcode != tc.Rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.Rcode])
				}
				if !r.Authoritative {
					t.Error("AA bit not set on an answer from the zone")
				}
				if r.Truncated {
					t.Error("TC bit set on a small answer")
				}
				sameRRs(t, "answer", r.Answer, tc.Answer)
				sameRRs(t, "authority", r.Ns, tc.Ns)
				sameRRs(t, "additional", r.Extra, tc.Extra)
			})
		}
	}
}

const (
	soaConsul = "consul. 0 IN SOA ns.consul. hostmaster.consul. 0 3600 600 86400 0"
	soaHerald = "herald. 0 IN SOA ns.herald. hostmaster.herald. 0 3600 600 86400 0"
)

func TestLookups(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AltDomain = "Herald"
	n1Extra := []dns.RR{
		rr("n1.node.dc1.consul. 0 IN A 10.0.0.1"),
		rr(`n1.node.dc1.consul. 0 IN TXT "rack=r1"`),
		rr(`n1.node.dc1.consul. 0 IN TXT "hello world"`),
	}
	runCases(t, cfg, []testCase{
		// Standard service lookups: the critical web3 is left out.
		{Qname: "web.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("web.service.consul. 0 IN A 10.0.0.1"),
			rr("web.service.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "web.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("web.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("web.service.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "web.service.consul.", Qtype: dns.TypeANY, Answer: []dns.RR{
			rr("web.service.consul. 0 IN A 10.0.0.1"),
			rr("web.service.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "web.service.consul.", Qtype: dns.TypeAAAA, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "web.service.consul.", Qtype: dns.TypeTXT, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "web.service.dc1.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("web.service.dc1.consul. 0 IN A 10.0.0.1"),
			rr("web.service.dc1.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "web.service.dc1.dc.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("web.service.dc1.dc.consul. 0 IN A 10.0.0.1"),
			rr("web.service.dc1.dc.consul. 0 IN A 10.0.0.2"),
		}},
		// Tags, both spellings.
		{Qname: "primary.web.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("primary.web.service.consul. 0 IN A 10.0.0.1"),
		}},
		{Qname: "v1.web.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("v1.web.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("v1.web.service.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "nosuchtag.web.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// RFC 2782: _tcp means no tag filter; the .service label is optional.
		{Qname: "_web._primary.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("_web._primary.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
		}, Extra: n1Extra},
		{Qname: "_web._tcp.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("_web._tcp.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("_web._tcp.service.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "_web._tcp.dc1.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("_web._tcp.dc1.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("_web._tcp.dc1.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "_web._tcp.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("_web._tcp.service.consul. 0 IN A 10.0.0.1"),
			rr("_web._tcp.service.consul. 0 IN A 10.0.0.2"),
		}},
		// Case does not matter, and the name is echoed as asked.
		{Qname: "WEB.Service.CONSUL.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("WEB.Service.CONSUL. 0 IN A 10.0.0.1"),
			rr("WEB.Service.CONSUL. 0 IN A 10.0.0.2"),
		}},
		{Qname: "billing.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("billing.service.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "PRIMARY.web.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("PRIMARY.web.service.consul. 0 IN A 10.0.0.1"),
		}},
		// Health: warning is in with its weight, critical and maintenance out.
		{Qname: "api.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("api.service.consul. 0 IN SRV 1 10 9000 n1.node.dc1.consul."),
			rr("api.service.consul. 0 IN SRV 1 1 9000 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "maint.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "dead.service.consul.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "nosuch.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// A service with its own address gets an .addr target.
		{Qname: "db.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("db.service.consul. 0 IN SRV 1 1 5432 c0a8010a.addr.dc1.consul."),
		}, Extra: []dns.RR{rr("c0a8010a.addr.dc1.consul. 0 IN A 192.168.1.10")}},
		{Qname: "db.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{rr("db.service.consul. 0 IN A 192.168.1.10")}},
		{Qname: "c0a8010a.addr.dc1.consul.", Qtype: dns.TypeA, Answer: []dns.RR{rr("c0a8010a.addr.dc1.consul. 0 IN A 192.168.1.10")}},
		{Qname: "20010db8000000000000000000000006.addr.consul.", Qtype: dns.TypeAAAA, Answer: []dns.RR{
			rr("20010db8000000000000000000000006.addr.consul. 0 IN AAAA 2001:db8::6"),
		}},
		{Qname: "c0a8010a.addr.dc1.consul.", Qtype: dns.TypeAAAA, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "zz.addr.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// A node whose name cannot be a DNS name is reached by address.
		{Qname: "oddnode.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("oddnode.service.consul. 0 IN SRV 1 1 81 0a000007.addr.dc1.consul."),
		}, Extra: []dns.RR{rr("0a000007.addr.dc1.consul. 0 IN A 10.0.0.7")}},
		// IPv6.
		{Qname: "v6.service.consul.", Qtype: dns.TypeAAAA, Answer: []dns.RR{rr("v6.service.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "v6.service.consul.", Qtype: dns.TypeA, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "v6.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("v6.service.consul. 0 IN SRV 1 1 80 n6.node.dc1.consul."),
		}, Extra: []dns.RR{rr("n6.node.dc1.consul. 0 IN AAAA 2001:db8::6")}},
		// Host names: a CNAME (nothing to chase it with, without recursors),
		// and a name inside the zone, which is chased.
		{Qname: "ext.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("ext.service.consul. 0 IN CNAME ext-host.example.org."),
		}},
		{Qname: "ext.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("ext.service.consul. 0 IN SRV 1 1 443 ext-host.example.org."),
		}},
		{Qname: "alias.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("alias.service.consul. 0 IN CNAME db.service.consul."),
			rr("db.service.consul. 0 IN A 192.168.1.10"),
		}},
		{Qname: "selfref.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("selfref.service.consul. 0 IN A 10.0.0.2"),
		}},
		// Nodes: address, meta as TXT (rfc1035- keys bare).
		{Qname: "n1.node.consul.", Qtype: dns.TypeA, Answer: []dns.RR{rr("n1.node.consul. 0 IN A 10.0.0.1")}, Extra: []dns.RR{
			rr(`n1.node.consul. 0 IN TXT "rack=r1"`),
			rr(`n1.node.consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "n1.node.dc1.consul.", Qtype: dns.TypeTXT, Answer: []dns.RR{
			rr(`n1.node.dc1.consul. 0 IN TXT "rack=r1"`),
			rr(`n1.node.dc1.consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "N1.Node.Consul.", Qtype: dns.TypeANY, Answer: []dns.RR{
			rr("N1.Node.Consul. 0 IN A 10.0.0.1"),
			rr(`N1.Node.Consul. 0 IN TXT "rack=r1"`),
			rr(`N1.Node.Consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "n2.node.consul.", Qtype: dns.TypeAAAA, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "n2.node.consul.", Qtype: dns.TypeTXT, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "n6.node.consul.", Qtype: dns.TypeAAAA, Answer: []dns.RR{rr("n6.node.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "ext.node.consul.", Qtype: dns.TypeA, Answer: []dns.RR{rr("ext.node.consul. 0 IN CNAME ext-host.example.org.")}},
		{Qname: "nosuch.node.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// Another datacenter: no path to it yet, which Consul answers NXDOMAIN.
		{Qname: "web.service.dc2.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "n1.node.dc2.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// Names Consul does not know, and prepared queries (none yet).
		{Qname: "foo.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "web.service.a.b.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "geo.query.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// The zone itself: the servers (nodes of "consul") are its name servers.
		{Qname: "consul.", Qtype: dns.TypeSOA, Answer: []dns.RR{rr(soaConsul)},
			Ns:    []dns.RR{rr("consul. 0 IN NS n1.node.dc1.consul.")},
			Extra: []dns.RR{rr("n1.node.dc1.consul. 0 IN A 10.0.0.1")}},
		{Qname: "consul.", Qtype: dns.TypeNS, Answer: []dns.RR{rr("consul. 0 IN NS n1.node.dc1.consul.")},
			Extra: []dns.RR{rr("n1.node.dc1.consul. 0 IN A 10.0.0.1")}},
		{Qname: "consul.", Qtype: dns.TypeA, Ns: []dns.RR{rr(soaConsul)}},
		// The alternative domain answers alike, with targets in itself.
		{Qname: "web.service.herald.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("web.service.herald. 0 IN SRV 1 1 8080 n1.node.dc1.herald."),
			rr("web.service.herald. 0 IN SRV 1 1 8080 n2.node.dc1.herald."),
		}, Extra: []dns.RR{
			rr("n1.node.dc1.herald. 0 IN A 10.0.0.1"),
			rr(`n1.node.dc1.herald. 0 IN TXT "rack=r1"`),
			rr(`n1.node.dc1.herald. 0 IN TXT "hello world"`),
			rr("n2.node.dc1.herald. 0 IN A 10.0.0.2"),
		}},
		{Qname: "n2.node.dc1.herald.", Qtype: dns.TypeA, Answer: []dns.RR{rr("n2.node.dc1.herald. 0 IN A 10.0.0.2")}},
		{Qname: "nosuch.service.herald.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaHerald)}},
		{Qname: "herald.", Qtype: dns.TypeSOA, Answer: []dns.RR{rr(soaHerald)},
			Ns:    []dns.RR{rr("herald. 0 IN NS n1.node.dc1.herald.")},
			Extra: []dns.RR{rr("n1.node.dc1.herald. 0 IN A 10.0.0.1")}},
	})
}

func TestOnlyPassing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OnlyPassing = true
	runCases(t, cfg, []testCase{
		{Qname: "api.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("api.service.consul. 0 IN SRV 1 10 9000 n1.node.dc1.consul."),
		}, Extra: []dns.RR{
			rr("n1.node.dc1.consul. 0 IN A 10.0.0.1"),
			rr(`n1.node.dc1.consul. 0 IN TXT "rack=r1"`),
			rr(`n1.node.dc1.consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "web.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("web.service.consul. 0 IN A 10.0.0.1"),
			rr("web.service.consul. 0 IN A 10.0.0.2"),
		}},
	})
}

func TestTTLs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NodeTTL = 60 * time.Second
	cfg.ServiceTTL = map[string]time.Duration{"*": 5 * time.Second, "We*": 10 * time.Second, "web": 30 * time.Second}
	cfg.DisableNodeMetaTXT = true
	runCases(t, cfg, []testCase{
		// Exact name beats prefixes.
		{Qname: "web.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			rr("web.service.consul. 30 IN A 10.0.0.1"),
			rr("web.service.consul. 30 IN A 10.0.0.2"),
		}},
		{Qname: "primary.web.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			rr("primary.web.service.consul. 30 IN SRV 1 1 8080 n1.node.dc1.consul."),
		}, Extra: []dns.RR{rr("n1.node.dc1.consul. 30 IN A 10.0.0.1")}},
		// Longest prefix beats "*".
		{Qname: "west.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{rr("west.service.consul. 10 IN A 10.0.0.1")}},
		{Qname: "db.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{rr("db.service.consul. 5 IN A 192.168.1.10")}},
		// Nodes have their own TTL; the SOA keeps Consul's 0.
		{Qname: "n1.node.consul.", Qtype: dns.TypeA, Answer: []dns.RR{rr("n1.node.consul. 60 IN A 10.0.0.1")}},
		{Qname: "n1.node.consul.", Qtype: dns.TypeTXT, Answer: []dns.RR{
			rr(`n1.node.consul. 60 IN TXT "rack=r1"`),
			rr(`n1.node.consul. 60 IN TXT "hello world"`),
		}},
		{Qname: "nosuch.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
	})
}

func TestARecordLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ARecordLimit = 1
	s := startServer(t, cfg)
	for _, network := range []string{"udp", "tcp"} {
		if r := query(t, network, s.Addr(), "web.service.consul.", dns.TypeA); len(r.Answer) != 1 || r.Truncated {
			t.Errorf("%s A: %d answers (TC %v), want 1 without TC", network, len(r.Answer), r.Truncated)
		}
		if r := query(t, network, s.Addr(), "web.service.consul.", dns.TypeSRV); len(r.Answer) != 2 {
			t.Errorf("%s SRV: %d answers, want 2: a_record_limit leaves SRV alone", network, len(r.Answer))
		}
	}
}

// TestShuffle checks that the order of answers rotates between queries.
func TestShuffle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Catalog = world{}.big("many", 8).catalog()
	s := startServer(t, cfg)
	for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV} {
		first := map[string]int{}
		for range 50 {
			r := query(t, "tcp", s.Addr(), "many.service.consul.", qtype)
			if len(r.Answer) != 8 {
				t.Fatalf("%d answers, want 8", len(r.Answer))
			}
			first[r.Answer[0].String()]++
		}
		if len(first) < 2 {
			t.Errorf("%s: the first answer was the same in 50 queries: %v", dns.TypeToString[qtype], first)
		}
	}
}

func TestWeights(t *testing.T) {
	n := node("n", "10.0.0.1", nil)
	plain := svc("n", "a", "a", 1)
	weighted := svc("n", "b", "b", 1)
	weighted.Weights.Passing, weighted.Weights.Warning = 7, 3
	for _, tc := range []struct {
		s    Instance
		h    string
		want uint16
	}{
		{Instance{Node: n, Service: plain}, health.Passing, 1},
		{Instance{Node: n, Service: plain}, health.Warning, 1},
		{Instance{Node: n, Service: weighted}, health.Passing, 7},
		{Instance{Node: n, Service: weighted}, health.Warning, 3},
	} {
		if got := weight(tc.s.Service, tc.h); got != tc.want {
			t.Errorf("weight(%+v, %s) = %d, want %d", tc.s.Service.Weights, tc.h, got, tc.want)
		}
	}
}
