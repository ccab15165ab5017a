package dnsserver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/health"
)

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
		{Qname: "web.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("web.service.consul. 0 IN A 10.0.0.1"),
			rr("web.service.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "web.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("web.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("web.service.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "web.service.consul.", Qtype: dns.TypeANY, AA: true, Answer: []dns.RR{
			rr("web.service.consul. 0 IN A 10.0.0.1"),
			rr("web.service.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "web.service.consul.", Qtype: dns.TypeAAAA, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "web.service.consul.", Qtype: dns.TypeTXT, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "web.service.dc1.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("web.service.dc1.consul. 0 IN A 10.0.0.1"),
			rr("web.service.dc1.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "web.service.dc1.dc.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("web.service.dc1.dc.consul. 0 IN A 10.0.0.1"),
			rr("web.service.dc1.dc.consul. 0 IN A 10.0.0.2"),
		}},
		// Tags, both spellings.
		{Qname: "primary.web.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("primary.web.service.consul. 0 IN A 10.0.0.1"),
		}},
		{Qname: "v1.web.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("v1.web.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("v1.web.service.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "nosuchtag.web.service.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// RFC 2782: _tcp means no tag filter; the .service label is optional.
		{Qname: "_web._primary.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("_web._primary.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
		}, Extra: n1Extra},
		{Qname: "_web._tcp.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("_web._tcp.service.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("_web._tcp.service.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "_web._tcp.dc1.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("_web._tcp.dc1.consul. 0 IN SRV 1 1 8080 n1.node.dc1.consul."),
			rr("_web._tcp.dc1.consul. 0 IN SRV 1 1 8080 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "_web._tcp.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("_web._tcp.service.consul. 0 IN A 10.0.0.1"),
			rr("_web._tcp.service.consul. 0 IN A 10.0.0.2"),
		}},
		// Case does not matter, and the name is echoed as asked.
		{Qname: "WEB.Service.CONSUL.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("WEB.Service.CONSUL. 0 IN A 10.0.0.1"),
			rr("WEB.Service.CONSUL. 0 IN A 10.0.0.2"),
		}},
		{Qname: "billing.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("billing.service.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "PRIMARY.web.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("PRIMARY.web.service.consul. 0 IN A 10.0.0.1"),
		}},
		// Health: warning is in with its weight, critical and maintenance out.
		{Qname: "api.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("api.service.consul. 0 IN SRV 1 10 9000 n1.node.dc1.consul."),
			rr("api.service.consul. 0 IN SRV 1 1 9000 n2.node.dc1.consul."),
		}, Extra: append(n1Extra, rr("n2.node.dc1.consul. 0 IN A 10.0.0.2"))},
		{Qname: "maint.service.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "dead.service.consul.", Qtype: dns.TypeSRV, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "nosuch.service.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// A service with its own address gets an .addr target.
		{Qname: "db.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("db.service.consul. 0 IN SRV 1 1 5432 c0a8010a.addr.dc1.consul."),
		}, Extra: []dns.RR{rr("c0a8010a.addr.dc1.consul. 0 IN A 192.168.1.10")}},
		{Qname: "db.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("db.service.consul. 0 IN A 192.168.1.10")}},
		{Qname: "c0a8010a.addr.dc1.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("c0a8010a.addr.dc1.consul. 0 IN A 192.168.1.10")}},
		{Qname: "20010db8000000000000000000000006.addr.consul.", Qtype: dns.TypeAAAA, AA: true, Answer: []dns.RR{
			rr("20010db8000000000000000000000006.addr.consul. 0 IN AAAA 2001:db8::6"),
		}},
		{Qname: "c0a8010a.addr.dc1.consul.", Qtype: dns.TypeAAAA, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "zz.addr.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// A node whose name cannot be a DNS name is reached by address.
		{Qname: "oddnode.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("oddnode.service.consul. 0 IN SRV 1 1 81 0a000007.addr.dc1.consul."),
		}, Extra: []dns.RR{rr("0a000007.addr.dc1.consul. 0 IN A 10.0.0.7")}},
		// IPv6.
		{Qname: "v6.service.consul.", Qtype: dns.TypeAAAA, AA: true, Answer: []dns.RR{rr("v6.service.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "v6.service.consul.", Qtype: dns.TypeA, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "v6.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("v6.service.consul. 0 IN SRV 1 1 80 n6.node.dc1.consul."),
		}, Extra: []dns.RR{rr("n6.node.dc1.consul. 0 IN AAAA 2001:db8::6")}},
		// Host names: a CNAME (nothing to chase it with, without recursors),
		// and a name inside the zone, which is chased.
		{Qname: "ext.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("ext.service.consul. 0 IN CNAME ext-host.example.org."),
		}},
		{Qname: "ext.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("ext.service.consul. 0 IN SRV 1 1 443 ext-host.example.org."),
		}},
		{Qname: "alias.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("alias.service.consul. 0 IN CNAME db.service.consul."),
			rr("db.service.consul. 0 IN A 192.168.1.10"),
		}},
		{Qname: "selfref.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("selfref.service.consul. 0 IN A 10.0.0.2"),
		}},
		// Nodes: address, meta as TXT (rfc1035- keys bare).
		{Qname: "n1.node.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("n1.node.consul. 0 IN A 10.0.0.1")}, Extra: []dns.RR{
			rr(`n1.node.consul. 0 IN TXT "rack=r1"`),
			rr(`n1.node.consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "n1.node.dc1.consul.", Qtype: dns.TypeTXT, AA: true, Answer: []dns.RR{
			rr(`n1.node.dc1.consul. 0 IN TXT "rack=r1"`),
			rr(`n1.node.dc1.consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "N1.Node.Consul.", Qtype: dns.TypeANY, AA: true, Answer: []dns.RR{
			rr("N1.Node.Consul. 0 IN A 10.0.0.1"),
			rr(`N1.Node.Consul. 0 IN TXT "rack=r1"`),
			rr(`N1.Node.Consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "n2.node.consul.", Qtype: dns.TypeAAAA, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "n2.node.consul.", Qtype: dns.TypeTXT, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "n6.node.consul.", Qtype: dns.TypeAAAA, AA: true, Answer: []dns.RR{rr("n6.node.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "ext.node.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("ext.node.consul. 0 IN CNAME ext-host.example.org.")}},
		{Qname: "nosuch.node.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// Another datacenter: no path to it yet, which Consul answers NXDOMAIN.
		{Qname: "web.service.dc2.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "n1.node.dc2.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// Names Consul does not know, and prepared queries (none yet).
		{Qname: "foo.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "web.service.a.b.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "service.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		{Qname: "geo.query.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
		// Outside the zones, without recursors: refused, and not
		// authoritative.
		{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
		{Qname: "consul.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
		// The zone itself: the servers (nodes of "consul") are its name servers.
		{Qname: "consul.", Qtype: dns.TypeSOA, AA: true, Answer: []dns.RR{rr(soaConsul)},
			Ns:    []dns.RR{rr("consul. 0 IN NS n1.node.dc1.consul.")},
			Extra: []dns.RR{rr("n1.node.dc1.consul. 0 IN A 10.0.0.1")}},
		{Qname: "consul.", Qtype: dns.TypeNS, AA: true, Answer: []dns.RR{rr("consul. 0 IN NS n1.node.dc1.consul.")},
			Extra: []dns.RR{rr("n1.node.dc1.consul. 0 IN A 10.0.0.1")}},
		{Qname: "consul.", Qtype: dns.TypeA, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		// The alternative domain answers alike, with targets in itself.
		{Qname: "web.service.herald.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("web.service.herald. 0 IN SRV 1 1 8080 n1.node.dc1.herald."),
			rr("web.service.herald. 0 IN SRV 1 1 8080 n2.node.dc1.herald."),
		}, Extra: []dns.RR{
			rr("n1.node.dc1.herald. 0 IN A 10.0.0.1"),
			rr(`n1.node.dc1.herald. 0 IN TXT "rack=r1"`),
			rr(`n1.node.dc1.herald. 0 IN TXT "hello world"`),
			rr("n2.node.dc1.herald. 0 IN A 10.0.0.2"),
		}},
		{Qname: "n2.node.dc1.herald.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("n2.node.dc1.herald. 0 IN A 10.0.0.2")}},
		{Qname: "nosuch.service.herald.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaHerald)}},
		{Qname: "herald.", Qtype: dns.TypeSOA, AA: true, Answer: []dns.RR{rr(soaHerald)},
			Ns:    []dns.RR{rr("herald. 0 IN NS n1.node.dc1.herald.")},
			Extra: []dns.RR{rr("n1.node.dc1.herald. 0 IN A 10.0.0.1")}},
	})
}

func TestOnlyPassing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OnlyPassing = true
	runCases(t, cfg, []testCase{
		{Qname: "api.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("api.service.consul. 0 IN SRV 1 10 9000 n1.node.dc1.consul."),
		}, Extra: []dns.RR{
			rr("n1.node.dc1.consul. 0 IN A 10.0.0.1"),
			rr(`n1.node.dc1.consul. 0 IN TXT "rack=r1"`),
			rr(`n1.node.dc1.consul. 0 IN TXT "hello world"`),
		}},
		{Qname: "web.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
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
		{Qname: "web.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("web.service.consul. 30 IN A 10.0.0.1"),
			rr("web.service.consul. 30 IN A 10.0.0.2"),
		}},
		{Qname: "primary.web.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
			rr("primary.web.service.consul. 30 IN SRV 1 1 8080 n1.node.dc1.consul."),
		}, Extra: []dns.RR{rr("n1.node.dc1.consul. 30 IN A 10.0.0.1")}},
		// Longest prefix beats "*".
		{Qname: "west.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("west.service.consul. 10 IN A 10.0.0.1")}},
		{Qname: "db.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("db.service.consul. 5 IN A 192.168.1.10")}},
		// Nodes have their own TTL; the SOA keeps Consul's 0.
		{Qname: "n1.node.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("n1.node.consul. 60 IN A 10.0.0.1")}},
		{Qname: "n1.node.consul.", Qtype: dns.TypeTXT, AA: true, Answer: []dns.RR{
			rr(`n1.node.consul. 60 IN TXT "rack=r1"`),
			rr(`n1.node.consul. 60 IN TXT "hello world"`),
		}},
		{Qname: "nosuch.service.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
	})
}

// TestNodeMetaTXT covers dns_config.enable_additional_node_meta_txt: node
// meta as TXT records in the additional section of node A/AAAA and service
// SRV answers unless it is off, and in the answer to TXT and ANY either way.
func TestNodeMetaTXT(t *testing.T) {
	meta := func(owner string) []dns.RR {
		return []dns.RR{
			rr(owner + ` 0 IN TXT "rack=r1"`),
			rr(owner + ` 0 IN TXT "hello world"`),
		}
	}
	n1 := "n1.node.dc1.consul."
	both := func(disabled bool) []testCase {
		var extraA, extraSRV []dns.RR
		if !disabled {
			extraA, extraSRV = meta(n1), meta(n1)
		}
		return []testCase{
			{Qname: n1, Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr(n1 + " 0 IN A 10.0.0.1")}, Extra: extraA},
			{Qname: n1, Qtype: dns.TypeTXT, AA: true, Answer: meta(n1)},
			{Qname: n1, Qtype: dns.TypeANY, AA: true, Answer: append([]dns.RR{rr(n1 + " 0 IN A 10.0.0.1")}, meta(n1)...)},
			{Qname: "_db._tcp.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
				rr("_db._tcp.service.consul. 0 IN SRV 1 1 5432 c0a8010a.addr.dc1.consul."),
			}, Extra: []dns.RR{rr("c0a8010a.addr.dc1.consul. 0 IN A 192.168.1.10")}}, // an .addr target has no meta
			{Qname: "primary.web.service.consul.", Qtype: dns.TypeSRV, AA: true, Answer: []dns.RR{
				rr("primary.web.service.consul. 0 IN SRV 1 1 8080 " + n1),
			}, Extra: append([]dns.RR{rr(n1 + " 0 IN A 10.0.0.1")}, extraSRV...)},
			// A node without meta has nothing to add.
			{Qname: "n2.node.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{rr("n2.node.consul. 0 IN A 10.0.0.2")}},
			{Qname: "n2.node.consul.", Qtype: dns.TypeTXT, AA: true, Ns: []dns.RR{rr(soaConsul)}},
		}
	}
	t.Run("enabled", func(t *testing.T) { runCases(t, DefaultConfig(), both(false)) })
	t.Run("disabled", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.DisableNodeMetaTXT = true
		runCases(t, cfg, both(true))
	})
}

// TestReadBarrier covers dns_config.allow_stale = false: every answer from
// the catalog waits on the barrier first, and a failed barrier is SERVFAIL,
// never an answer that might be stale.
func TestReadBarrier(t *testing.T) {
	var calls atomic.Int32
	var fail atomic.Bool
	cfg := DefaultConfig()
	cfg.ReadBarrier = func(ctx context.Context) error {
		calls.Add(1)
		if _, ok := ctx.Deadline(); !ok {
			t.Error("read barrier called without a deadline")
		}
		if fail.Load() {
			return errors.New("no leader")
		}
		return nil
	}
	runCases(t, cfg, []testCase{
		{Qname: "web.service.consul.", Qtype: dns.TypeA, AA: true, Answer: []dns.RR{
			rr("web.service.consul. 0 IN A 10.0.0.1"),
			rr("web.service.consul. 0 IN A 10.0.0.2"),
		}},
		{Qname: "nosuch.service.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeNameError, Ns: []dns.RR{rr(soaConsul)}},
	})
	if got := calls.Load(); got != 4 {
		t.Errorf("read barrier called %d times for 4 queries", got)
	}
	fail.Store(true)
	runCases(t, cfg, []testCase{
		{Qname: "web.service.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeServerFailure},
		{Qname: "n1.node.consul.", Qtype: dns.TypeA, AA: true, Rcode: dns.RcodeServerFailure},
	})

	// A barrier that never returns (no leader to confirm it) is given up
	// after ReadBarrierTimeout rather than holding the query.
	cfg.ReadBarrier = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	cfg.ReadBarrierTimeout = 20 * time.Millisecond
	runCases(t, cfg, []testCase{
		{Qname: "web.service.consul.", Qtype: dns.TypeSRV, Net: "udp", AA: true, Rcode: dns.RcodeServerFailure},
	})
}

func TestARecordLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ARecordLimit = 1
	runCases(t, cfg, []testCase{
		// One of the two addresses, on every transport, and no TC: the
		// limit is a choice, not a lack of room.
		{Qname: "web.service.consul.", Qtype: dns.TypeA, AA: true, Answers: 1},
		{Qname: "web.service.consul.", Qtype: dns.TypeA, Net: "udp", EDNS: 4096, AA: true, Answers: 1},
		// a_record_limit leaves SRV alone.
		{Qname: "web.service.consul.", Qtype: dns.TypeSRV, AA: true, Answers: 2},
	})
}

// TestShuffle checks that the order of answers rotates between queries.
func TestShuffle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Catalog = world{}.big("many", 8).catalog()
	s := newServer(t, cfg)
	for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV} {
		first := map[string]int{}
		for range 50 {
			r := ask(t, s, "tcp", "many.service.consul.", qtype, 0)
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
