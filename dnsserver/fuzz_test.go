package dnsserver

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzParseName feeds arbitrary names and types to the name parser and then
// to the whole answer path. Nothing may panic, a parsed name must be
// coherent, and the response to any name that survives a trip through the
// wire format must pack, within 512 bytes over UDP.
func FuzzParseName(f *testing.F) {
	for _, seed := range []string{
		"web.service.consul.", "primary.web.service.dc1.consul", "_web._tcp.service.consul.",
		"_web._tcp.consul.", "n1.node.consul.", "n1.node.dc1.dc.consul.", "c0a8010a.addr.dc1.consul.",
		"consul.", "CONSUL", "herald.", "a.b.c.d.e.service.x.y.consul.", `a\.consul.`, `web\.service.consul.`,
		"..consul.", ".", "", `\`, `\\.consul.`, "_.service.consul.", "query.consul.", "x.query.consul.",
		"20010db8000000000000000000000006.addr.consul.", "ext.service.consul.", "alias.service.consul.",
		"fat.node.consul.", "example.org.", strings.Repeat("a.", 127),
	} {
		f.Add(seed, dns.TypeSRV)
		f.Add(seed, dns.TypeA)
		f.Add(seed, dns.TypeANY)
	}
	cfg := DefaultConfig()
	cfg.AltDomain = "herald."
	cfg.Catalog = fixture().catalog()
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, qname string, qtype uint16) {
		n, ok := s.st.zones.parse(qname, qtype)
		if ok {
			if n.zone != "consul." && n.zone != "herald." {
				t.Fatalf("parse(%q) matched zone %q", qname, n.zone)
			}
			if n.kind == kindService && n.service == "" {
				t.Fatalf("parse(%q): service lookup without a service", qname)
			}
			if n.kind == kindNode && n.node == "" {
				t.Fatalf("parse(%q): node lookup without a node", qname)
			}
			if n.kind == kindAddr && !n.addr.IsValid() {
				t.Fatalf("parse(%q): addr lookup without an address", qname)
			}
		}
		if !ok {
			return // the recursors' business; there are none here
		}
		req := new(dns.Msg)
		req.Id = 1
		req.Question = []dns.Question{{Name: qname, Qtype: qtype, Qclass: dns.ClassINET}}
		for _, tcp := range []bool{false, true} {
			s.Answer(req, tcp) // whatever the name, no panic
		}
		// What the server really gets is a name that went through the wire.
		wire, err := req.Pack()
		if err != nil {
			return
		}
		if err := req.Unpack(wire); err != nil {
			t.Fatalf("%q packs but does not unpack: %v", qname, err)
		}
		for _, tcp := range []bool{false, true} {
			m := s.Answer(req, tcp)
			b, err := m.Pack()
			if err != nil {
				t.Fatalf("response to %q %s does not pack: %v\n%v", qname, dns.TypeToString[qtype], err, m)
			}
			if !tcp && len(b) > dns.MinMsgSize {
				t.Fatalf("UDP response to %q is %d bytes", qname, len(b))
			}
		}
	})
}

// FuzzAnswer feeds raw datagrams to the answer path, EDNS0 options and
// all, as the UDP listener would after unpacking them.
func FuzzAnswer(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
		edns uint16
	}{
		{"web.service.consul.", dns.TypeSRV, 0},
		{"big.service.consul.", dns.TypeSRV, 1232},
		{"n1.node.consul.", dns.TypeANY, 4096},
		{"consul.", dns.TypeSOA, 100},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	cfg := DefaultConfig()
	cfg.Catalog = fixture().big("big", 40).catalog()
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		req := new(dns.Msg)
		if req.Unpack(wire) != nil || len(req.Question) == 0 {
			return
		}
		if _, ok := s.st.zones.parse(req.Question[0].Name, req.Question[0].Qtype); !ok {
			return // would go to the recursors
		}
		for _, tcp := range []bool{false, true} {
			m := s.Answer(req, tcp)
			b, err := m.Pack()
			if err != nil {
				t.Fatalf("response does not pack: %v\n%v", err, m)
			}
			size, _ := s.limits(req, tcp)
			if len(b) > size {
				t.Fatalf("response of %d bytes, limit %d", len(b), size)
			}
		}
	})
}
