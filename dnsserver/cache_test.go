package dnsserver

import (
	"fmt"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// projectionWith is a catalog projection holding w, applied at index 1.
func projectionWith(w world) *projections.Catalog {
	c := projections.NewCatalog()
	var evs []event.Event
	for _, n := range w.nodes {
		evs = append(evs, event.Event{Type: event.NodeUpdated, Node: n})
	}
	for _, s := range w.services {
		evs = append(evs, event.Event{Type: event.ServiceUpdated, Service: s})
	}
	for _, ch := range w.checks {
		evs = append(evs, event.Event{Type: event.CheckUpdated, Check: ch})
	}
	c.Apply(1, evs)
	return c
}

// srvTargets is the targets of r's SRV answers, in order.
func srvTargets(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			out = append(out, srv.Target)
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestDNSCacheFollowsTheCatalog: a service's answer is served from the
// cache, rotated from one query to the next, and a new instance or a check
// turning critical shows in the very next answer.
func TestDNSCacheFollowsTheCatalog(t *testing.T) {
	w := world{}.big("web", 3)
	for _, n := range w.nodes {
		w.checks = append(w.checks, check(n.Node, "serfHealth", "", event.HealthPassing))
	}
	cat := projectionWith(w)
	s := startServer(t, Config{Catalog: FromProjection(cat)})
	ask := func() *dns.Msg {
		t.Helper()
		r := exchange(t, "udp", s.Addr(), srvQuery("web.service.consul.", 4096))
		if r.Rcode != dns.RcodeSuccess {
			t.Fatalf("rcode %s", dns.RcodeToString[r.Rcode])
		}
		return r
	}

	first := map[string]int{}
	var all []string
	const queries = 30
	for range queries {
		r := ask()
		targets := srvTargets(r)
		if len(targets) != 3 || len(r.Extra) < 3 {
			t.Fatalf("%d answers, %d extras; want 3 SRV with their addresses:\n%v", len(targets), len(r.Extra), r)
		}
		if all == nil {
			all = sorted(targets)
		} else if !slices.Equal(sorted(targets), all) {
			t.Fatalf("answers changed without a catalog change: %v, then %v", all, targets)
		}
		first[targets[0]]++
	}
	// Three answers, three rotations taken in turn: each instance comes
	// first in a third of the queries.
	for _, target := range all {
		if first[target] != queries/3 {
			t.Errorf("%s came first %d times in %d queries, want %d (rotation): %v", target, first[target], queries, queries/3, first)
		}
	}
	if n := s.cache.len(); n != 1 {
		t.Errorf("%d cached answers, want 1", n)
	}

	// A new instance is in the next answer.
	n4 := node("web-node-new", "10.1.9.9", nil)
	cat.Apply(2, []event.Event{
		{Type: event.NodeUpdated, Node: n4},
		{Type: event.ServiceUpdated, Service: svc(n4.Node, "web-new", "web", 8999)},
	})
	want := "web-node-new.node.dc1.consul."
	if got := srvTargets(ask()); len(got) != 4 || !slices.Contains(got, want) {
		t.Fatalf("after a new instance: %v, want 4 answers with %s", got, want)
	}

	// A check turning critical takes its instance out of the next answer.
	gone := w.nodes[0].Node
	cat.Apply(3, []event.Event{{Type: event.CheckUpdated, Check: check(gone, "serfHealth", "", event.HealthCritical)}})
	got := srvTargets(ask())
	if len(got) != 3 || slices.Contains(got, gone+".node.dc1.consul.") {
		t.Fatalf("after %s turned critical: %v, want 3 answers without it", gone, got)
	}

	// Every instance critical: NXDOMAIN at once, not the cached answer.
	var crit []event.Event
	for _, n := range append(w.nodes, n4) {
		crit = append(crit, event.Event{Type: event.CheckUpdated, Check: check(n.Node, "serfHealth", "", event.HealthCritical)})
	}
	cat.Apply(4, crit)
	if r := exchange(t, "udp", s.Addr(), srvQuery("web.service.consul.", 4096)); r.Rcode != dns.RcodeNameError {
		t.Fatalf("with every instance critical: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

// TestDNSCacheDoesNotGrowWithUnknownNames: NXDOMAIN answers are not kept, so
// random names cannot fill the cache.
func TestDNSCacheDoesNotGrowWithUnknownNames(t *testing.T) {
	s := startServer(t, Config{Catalog: FromProjection(projectionWith(world{}.big("web", 2)))})
	exchange(t, "udp", s.Addr(), srvQuery("web.service.consul.", 4096))
	for i := range 50 {
		r := exchange(t, "udp", s.Addr(), srvQuery(fmt.Sprintf("random-%d.service.consul.", i), 4096))
		if r.Rcode != dns.RcodeNameError {
			t.Fatalf("random name: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
		}
	}
	if n := s.cache.len(); n != 1 {
		t.Errorf("%d cached answers after 50 unknown names, want 1 (the known service)", n)
	}
}

// TestDNSCacheKeepsTransportRules: served from the cache over each
// transport and buffer size, a response has what Answer computes for it:
// the same header bits (TC included), rcode, echoed question and OPT, and
// as many answers and additional records, with the query's ID.
func TestDNSCacheKeepsTransportRules(t *testing.T) {
	for _, truncate := range []bool{false, true} {
		cfg := Config{Catalog: FromProjection(projectionWith(world{}.big("web", 30))), EnableTruncate: truncate}
		s := startServer(t, cfg)
		for _, tc := range []struct {
			network string
			edns    uint16
			qtype   uint16
		}{
			{"udp", 0, dns.TypeSRV}, {"udp", 512, dns.TypeSRV}, {"udp", 1232, dns.TypeSRV}, {"udp", 4096, dns.TypeSRV},
			{"tcp", 0, dns.TypeSRV}, {"udp", 0, dns.TypeA}, {"tcp", 0, dns.TypeA},
		} {
			name := fmt.Sprintf("truncate=%v %s edns=%d %s", truncate, tc.network, tc.edns, dns.TypeToString[tc.qtype])
			req := new(dns.Msg)
			req.SetQuestion("WeB.service.consul.", tc.qtype)
			if tc.edns > 0 {
				req.SetEdns0(tc.edns, false)
			}
			want := s.Answer(req, tc.network == "tcp")
			for i := range 3 { // the first builds the entry, the others read it
				req.Id = dns.Id()
				got := exchange(t, tc.network, s.Addr(), req)
				if got.Id != req.Id || got.Truncated != want.Truncated || got.Rcode != want.Rcode ||
					got.RecursionDesired != want.RecursionDesired || !got.Authoritative ||
					len(got.Answer) != len(want.Answer) || len(got.Extra) != len(want.Extra) ||
					got.Question[0].Name != "WeB.service.consul." || (got.IsEdns0() == nil) != (want.IsEdns0() == nil) {
					t.Errorf("%s, query %d: got ID %d TC %v %s, %d answers, %d extras; want ID %d TC %v %s, %d answers, %d extras\n%v",
						name, i, got.Id, got.Truncated, dns.RcodeToString[got.Rcode], len(got.Answer), len(got.Extra),
						req.Id, want.Truncated, dns.RcodeToString[want.Rcode], len(want.Answer), len(want.Extra), got)
				}
			}
		}
	}
}

// TestDNSCacheFollowsTheACLView: with ACLs, an answer cached under one
// authorizer is not served under another.
func TestDNSCacheFollowsTheACLView(t *testing.T) {
	var authz atomic.Value
	authz.Store(acl.AllowAll())
	cat := WithACL(FromProjection(projectionWith(world{}.big("web", 2))), func() acl.Authorizer { return authz.Load().(acl.Authorizer) })
	s := startServer(t, Config{Catalog: cat})
	if r := exchange(t, "udp", s.Addr(), srvQuery("web.service.consul.", 4096)); len(r.Answer) != 2 {
		t.Fatalf("allowed: %d answers, want 2", len(r.Answer))
	}
	authz.Store(acl.DenyAll())
	if r := exchange(t, "udp", s.Addr(), srvQuery("web.service.consul.", 4096)); r.Rcode != dns.RcodeNameError {
		t.Fatalf("denied: rcode %s with %d answers, want NXDOMAIN", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}

// TestDNSCacheSkipsAnswersFromOutside: an answer that points outside the
// zones (resolved by recursors, whose changes no index follows) is built
// on every query, not cached.
func TestDNSCacheSkipsAnswersFromOutside(t *testing.T) {
	w := world{nodes: []*event.Node{node("n1", "10.0.0.1", nil)}}
	ext := svc("n1", "ext1", "ext", 443)
	ext.Address = "ext-host.example.org"
	w.services = []*event.Service{ext}
	s := startServer(t, Config{Catalog: FromProjection(projectionWith(w))})
	for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV} {
		r := query(t, "udp", s.Addr(), "ext.service.consul.", qtype)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Fatalf("%s: rcode %s, %d answers; want the external name", dns.TypeToString[qtype], dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
	if n := s.cache.len(); n != 0 {
		t.Errorf("%d cached answers, want none for a service outside the zones", n)
	}
}

// TestDNSCacheSpreadsLargeServices: a service with more instances than an
// answer keeps rotations is shuffled again from time to time, so that
// every instance comes first in some answer.
func TestDNSCacheSpreadsLargeServices(t *testing.T) {
	const instances = 2 * maxRotations
	s := startServer(t, Config{Catalog: FromProjection(projectionWith(world{}.big("web", instances)))})
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second, UDPSize: dns.MaxMsgSize}
	conn, err := c.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	first := map[string]bool{}
	req := srvQuery("web.service.consul.", 4096)
	for i := 0; i < 40*reshuffleAfter && len(first) < instances; i++ {
		r, _, err := c.ExchangeWithConn(req, conn)
		if err != nil {
			t.Fatal(err)
		}
		targets := srvTargets(r)
		if len(targets) != instances {
			t.Fatalf("%d answers, want %d", len(targets), instances)
		}
		first[targets[0]] = true
	}
	if len(first) != instances {
		t.Errorf("%d of %d instances ever came first", len(first), instances)
	}
}
