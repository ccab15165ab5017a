package dnsserver

import (
	"encoding/hex"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// kind is what a name inside one of the zones asks for.
type kind uint8

const (
	// kindInvalid is a name in the zone that Consul has no answer for:
	// NXDOMAIN.
	kindInvalid kind = iota
	// kindApex is the zone itself (SOA and NS).
	kindApex
	// kindService is [tag.]name.service[.dc] or _name._tag.service[.dc].
	kindService
	// kindNode is name.node[.dc].
	kindNode
	// kindAddr is <hex ip>.addr[.dc], the SRV targets of services that have
	// their own address.
	kindAddr
	// kindQuery is <query name or ID>.query[.dc], or the RFC 2782 form
	// _<name>._tcp.query[.dc] (query.go).
	kindQuery
)

// name is a parsed query name. Labels are lower case and keep the
// presentation escapes miekg/dns gives them.
type name struct {
	kind    kind
	zone    string // the matched zone, as configured ("consul.")
	dc      string // the datacenter label, "" when the name has none
	service string
	tag     string // "" means no tag filter
	node    string
	addr    netip.Addr
	query   string // a prepared query's name or ID
	// connect marks name.connect: the service's mesh instances; ingress
	// marks name.ingress: the ingress gateways to it (mesh.go).
	connect, ingress bool
}

// zones are the domains answered from the catalog, longest first.
type zones []string

// parse reads qname (any case, fully qualified or not). ok is false when the
// name is outside every zone and belongs to the recursors. It never fails on
// odd input: whatever it cannot read is kindInvalid.
func (z zones) parse(qname string, qtype uint16) (n name, ok bool) {
	fq := strings.ToLower(qname)
	if !strings.HasSuffix(fq, ".") || escapedAt(fq, len(fq)-1) {
		fq += "."
	}
	zone, rest, ok := z.match(fq)
	if !ok {
		return name{}, false
	}
	n.zone = zone
	if rest == "" {
		n.kind = kindApex
		return n, true
	}
	labels := splitLabels(rest)
	for _, l := range labels {
		if l == "" {
			return n, true
		}
	}

	// The keyword nearest the zone decides, as in Consul, so that node and
	// tag names may themselves contain dots. An SRV query may leave out
	// ".service" when it uses the RFC 2782 underscore form.
	var kw string
	var parts, suffix []string
	for i := len(labels) - 1; i >= 0 && kw == ""; i-- {
		switch l := labels[i]; {
		case l == "service" || l == "node" || l == "addr" || l == "query" || l == "connect" || l == "ingress":
			kw, parts, suffix = l, labels[:i], labels[i+1:]
		case qtype == dns.TypeSRV && strings.HasPrefix(l, "_"):
			kw, parts, suffix = "service", labels[:i+1], labels[i+1:]
		}
	}
	if len(parts) == 0 {
		return n, true
	}
	switch {
	case len(suffix) == 1:
		n.dc = suffix[0]
	case len(suffix) == 2 && suffix[1] == "dc":
		// <dc>.dc, the explicit form of newer Consul versions.
		n.dc = suffix[0]
	case len(suffix) > 0:
		return n, true
	}

	switch kw {
	case "service":
		last := len(parts) - 1
		if len(parts) == 2 && strings.HasPrefix(parts[0], "_") && strings.HasPrefix(parts[1], "_") {
			n.service, n.tag = parts[0][1:], parts[1][1:]
			// _name._tcp means "any instance": Consul never filters on tcp.
			if n.tag == "tcp" {
				n.tag = ""
			}
		} else {
			n.service, n.tag = parts[last], strings.Join(parts[:last], ".")
		}
		if n.service != "" {
			n.kind = kindService
		}
	case "connect", "ingress":
		n = parseConnect(n, parts, kw == "ingress")
	case "node":
		n.node, n.kind = strings.Join(parts, "."), kindNode
	case "addr":
		if ip, ok := parseHexAddr(parts); ok {
			n.addr, n.kind = ip, kindAddr
		}
	case "query":
		n.query = strings.Join(parts, ".")
		if len(parts) == 2 && strings.HasPrefix(parts[0], "_") && strings.HasPrefix(parts[1], "_") {
			n.query = parts[0][1:]
		}
		if n.query != "" {
			n.kind = kindQuery
		}
	}
	return n, true
}

// match finds the zone fq belongs to and the labels before it.
func (z zones) match(fq string) (zone, rest string, ok bool) {
	for _, d := range z {
		if fq == d {
			return d, "", true
		}
		cut := len(fq) - len(d) - 1
		if cut > 0 && strings.HasSuffix(fq, d) && fq[cut] == '.' && !escapedAt(fq, cut) {
			return d, fq[:cut], true
		}
	}
	return "", "", false
}

// escapedAt reports whether the byte at i is escaped by a backslash, as in
// "a\.consul." where the dot is part of a label.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// splitLabels splits a presentation-format name (without its final dot) on
// the dots that are not escaped.
func splitLabels(s string) []string {
	labels := make([]string, 0, 4)
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '.':
			labels = append(labels, s[start:i])
			start = i + 1
		}
	}
	return append(labels, s[start:])
}

// parseHexAddr reads the single label of an .addr name: 8 hex digits for
// IPv4, 32 for IPv6.
func parseHexAddr(parts []string) (netip.Addr, bool) {
	if len(parts) != 1 || (len(parts[0]) != 8 && len(parts[0]) != 32) {
		return netip.Addr{}, false
	}
	b, err := hex.DecodeString(parts[0])
	if err != nil {
		return netip.Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(b)
	return ip.Unmap(), ok
}
