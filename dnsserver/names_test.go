package dnsserver

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func TestParseName(t *testing.T) {
	z := zones{"dc1.consul.", "consul."} // nested zones, longest first
	for _, tc := range []struct {
		qname  string
		qtype  uint16
		inZone bool
		want   name
	}{
		{"web.service.consul.", dns.TypeA, true, name{kind: kindService, zone: "consul.", service: "web"}},
		{"Web.Service.Consul", dns.TypeA, true, name{kind: kindService, zone: "consul.", service: "web"}},
		{"a.b.web.service.dc2.consul.", dns.TypeA, true, name{kind: kindService, zone: "consul.", dc: "dc2", service: "web", tag: "a.b"}},
		{"_web._v1.service.consul.", dns.TypeSRV, true, name{kind: kindService, zone: "consul.", service: "web", tag: "v1"}},
		{"_web._TCP.service.consul.", dns.TypeSRV, true, name{kind: kindService, zone: "consul.", service: "web"}},
		{"_web._tcp.consul.", dns.TypeSRV, true, name{kind: kindService, zone: "consul.", service: "web"}},
		{"_web._tcp.consul.", dns.TypeA, true, name{kind: kindInvalid, zone: "consul."}},
		{"web.service.dc3.dc.consul.", dns.TypeA, true, name{kind: kindService, zone: "consul.", dc: "dc3", service: "web"}},
		{"web.service.x.y.consul.", dns.TypeA, true, name{kind: kindInvalid, zone: "consul."}},
		{"host.example.node.consul.", dns.TypeA, true, name{kind: kindNode, zone: "consul.", node: "host.example"}},
		{"0a000001.addr.consul.", dns.TypeA, true, name{kind: kindAddr, zone: "consul.", addr: netip.MustParseAddr("10.0.0.1")}},
		{"00000000000000000000ffff0a000001.addr.consul.", dns.TypeA, true, name{kind: kindAddr, zone: "consul.", addr: netip.MustParseAddr("10.0.0.1")}},
		{"0a0001.addr.consul.", dns.TypeA, true, name{kind: kindInvalid, zone: "consul."}},
		{"q.query.consul.", dns.TypeA, true, name{kind: kindQuery, zone: "consul.", query: "q"}},
		{"geo.web.query.dc2.consul.", dns.TypeA, true, name{kind: kindQuery, zone: "consul.", dc: "dc2", query: "geo.web"}},
		{"_web._tcp.query.consul.", dns.TypeSRV, true, name{kind: kindQuery, zone: "consul.", query: "web"}},
		{"consul.", dns.TypeSOA, true, name{kind: kindApex, zone: "consul."}},
		{"web.service.dc1.consul.", dns.TypeA, true, name{kind: kindService, zone: "dc1.consul.", service: "web"}},
		{"..consul.", dns.TypeA, true, name{kind: kindInvalid, zone: "consul."}},
		{"example.org.", dns.TypeA, false, name{}},
		{"notconsul.", dns.TypeA, false, name{}},
		{`a\.consul.`, dns.TypeA, false, name{}},
		{`\\.node.consul.`, dns.TypeA, true, name{kind: kindNode, zone: "consul.", node: `\\`}},
		{"", dns.TypeA, false, name{}},
	} {
		got, ok := z.parse(tc.qname, tc.qtype)
		if ok != tc.inZone || got != tc.want {
			t.Errorf("parse(%q, %s) = %+v, %v; want %+v, %v", tc.qname, dns.TypeToString[tc.qtype], got, ok, tc.want, tc.inZone)
		}
	}
}

func TestRFC1464(t *testing.T) {
	for _, tc := range []struct{ k, v, want string }{
		{"rack", "r1", "rack=r1"},
		{"a=b", "c=d", "a`=b=c=d"},
		{"  sp ", "`v", "` ` sp` =``v"},
		{"", "", "="},
	} {
		if got := rfc1464(tc.k, tc.v); got != tc.want {
			t.Errorf("rfc1464(%q, %q) = %q, want %q", tc.k, tc.v, got, tc.want)
		}
	}
}
