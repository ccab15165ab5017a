package dnsserver

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/health"
)

// maxDepth bounds how many times an answer may follow a host name back into
// the zone (a service whose address is another service's name).
const maxDepth = 3

// consulService is the service every server registers; its nodes are the
// zone's name servers.
const consulService = "consul"

// result is the content of an answer before it meets the transport.
type result struct {
	rcode  int
	answer []dns.RR
	ns     []dns.RR
	extra  []dns.RR
}

// nxdomain is a name that does not exist. Like NODATA (orNoData) it carries
// the zone's SOA, so that resolvers can cache the negative answer (RFC 2308).
func nxdomain(zone string) result {
	return result{rcode: dns.RcodeNameError, ns: []dns.RR{soa(zone)}}
}

// orNoData turns an empty answer into NODATA: NOERROR with the SOA.
func (r result) orNoData(zone string) result {
	if len(r.answer) == 0 {
		r.ns = append(r.ns, soa(zone))
	}
	return r
}

// lookup answers a question for a name inside a zone.
func (s *Server) lookup(q dns.Question, n name, depth int) result {
	switch n.kind {
	case kindApex:
		return s.apexLookup(q, n.zone)
	case kindService, kindNode, kindQuery:
		if n.dc != "" && n.dc != s.st.dc {
			// No federation yet: this is what Consul answers when it has
			// no path to the datacenter.
			return nxdomain(n.zone)
		}
		if n.kind == kindNode {
			return s.nodeLookup(q, n, depth)
		}
		if n.kind == kindQuery {
			return s.queryLookup(q, n, depth)
		}
		return s.serviceLookup(q, n, depth)
	case kindAddr:
		if !wants(q.Qtype, n.addr) {
			return result{}.orNoData(n.zone)
		}
		return result{answer: []dns.RR{ipRR(q.Name, n.addr, s.st.nodeTTL)}}
	}
	return nxdomain(n.zone)
}

// apexLookup answers for the zone itself. Consul's NS records are the
// servers (the nodes of the "consul" service), with their addresses as glue.
func (s *Server) apexLookup(q dns.Question, zone string) result {
	var r result
	switch q.Qtype {
	case dns.TypeSOA:
		r.answer = []dns.RR{soa(zone)}
		r.ns, r.extra = s.nameservers(zone)
	case dns.TypeNS:
		r.answer, r.extra = s.nameservers(zone)
	case dns.TypeANY:
		ns, glue := s.nameservers(zone)
		r.answer = append([]dns.RR{soa(zone)}, ns...)
		r.extra = glue
	}
	return r.orNoData(zone)
}

// nameservers returns up to three healthy servers, shuffled.
func (s *Server) nameservers(zone string) (ns, glue []dns.RR) {
	insts := s.healthy(s.cat.ServiceInstances(consulService), "")
	seen := make(map[string]bool, len(insts))
	for _, in := range insts {
		target, ok := s.nodeName(in.Node.Node, zone)
		ip, isIP := parseIP(in.Node.Address)
		if !ok || !isIP || seen[target] {
			continue
		}
		seen[target] = true
		ns = append(ns, &dns.NS{Hdr: hdr(zone, dns.TypeNS, s.st.nodeTTL), Ns: target})
		glue = append(glue, ipRR(target, ip, s.st.nodeTTL))
		if len(ns) == 3 {
			break
		}
	}
	return ns, glue
}

// healthyInstance is an instance that may be answered, with its state for
// the SRV weight.
type healthyInstance struct {
	Instance
	health string
}

// healthy filters instances by tag and health and shuffles what is left. It
// copies: the catalog's slice is not ours to reorder.
func (s *Server) healthy(insts []Instance, tag string) []healthyInstance {
	out := make([]healthyInstance, 0, len(insts))
	for _, in := range insts {
		if in.Node == nil || in.Service == nil || (tag != "" && !hasTag(in.Service.Tags, tag)) {
			continue
		}
		h := health.Instance(in.Service.ID, in.Checks)
		if h == health.Critical || (h == health.Warning && s.st.onlyPassing) {
			continue
		}
		out = append(out, healthyInstance{in, h})
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// hasTag matches case-insensitively: DNS names have no case.
func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

func (s *Server) serviceLookup(q dns.Question, n name, depth int) result {
	insts := s.healthy(s.instancesFor(n), n.tag)
	if len(insts) == 0 {
		return nxdomain(n.zone)
	}
	ttl := s.st.serviceTTL.lookup(n.service)
	var r result
	if q.Qtype == dns.TypeSRV {
		r = s.srvRecords(q, n.zone, insts, ttl, depth)
	} else {
		r = s.addressRecords(q, n.zone, insts, ttl, depth)
	}
	return r.orNoData(n.zone)
}

// srvRecords answers one SRV per distinct node, address and port, with the
// target's addresses (and the node's meta) in the additional section.
func (s *Server) srvRecords(q dns.Question, zone string, insts []healthyInstance, ttl uint32, depth int) result {
	var r result
	seen := make(map[string]bool, len(insts))
	extraFor := make(map[string]bool, len(insts))
	for _, in := range insts {
		key := in.Node.Node + "\x00" + in.Service.Address + "\x00" + strconv.Itoa(in.Service.Port)
		if seen[key] {
			continue
		}
		seen[key] = true
		t := s.srvTarget(q, zone, in.Instance)
		if t.name == "" {
			continue
		}
		r.answer = append(r.answer, &dns.SRV{
			Hdr:      hdr(q.Name, dns.TypeSRV, ttl),
			Priority: 1,
			Weight:   weight(in.Service, in.health),
			Port:     uint16(in.Service.Port),
			Target:   t.name,
		})
		// Several instances on one node share its records, and a host name
		// is resolved once per answer, not once per instance.
		if extraFor[strings.ToLower(t.name)] {
			continue
		}
		extraFor[strings.ToLower(t.name)] = true
		if t.ip.IsValid() {
			r.extra = append(r.extra, ipRR(t.name, t.ip, ttl))
		} else {
			r.extra = append(r.extra, s.resolveHost(t.name, q.Qtype, ttl, depth)...)
		}
		if t.node && s.st.nodeMetaTXT {
			r.extra = append(r.extra, metaTXT(t.name, in.Node.Meta, ttl)...)
		}
	}
	return r
}

// target is where an SRV record points: a name in the zone with its
// address, or a host name to resolve.
type target struct {
	name string
	ip   netip.Addr // invalid for a host name
	node bool       // the node's canonical name, which carries its meta
}

// srvTarget picks an SRV target the way Consul does: the node's name when
// the service uses the node's address, an .addr name when the service has
// an IP of its own, and the host name itself when the address is one.
func (s *Server) srvTarget(q dns.Question, zone string, in Instance) target {
	nodeIP, nodeIsIP := parseIP(in.Node.Address)
	byNode := func() target {
		if t, ok := s.nodeName(in.Node.Node, zone); ok {
			return target{name: t, ip: nodeIP, node: true}
		}
		return target{name: s.addrName(nodeIP, zone), ip: nodeIP}
	}
	addr := in.Service.Address
	if ip, ok := parseIP(addr); ok {
		return target{name: s.addrName(ip, zone), ip: ip}
	}
	if host, ok := hostname(addr); ok {
		// A service whose address is the very name asked for would point
		// at itself; Consul uses the node then.
		if strings.EqualFold(host, q.Name) && nodeIsIP {
			return byNode()
		}
		return target{name: host}
	}
	if nodeIsIP {
		return byNode()
	}
	if host, ok := hostname(in.Node.Address); ok {
		return target{name: host}
	}
	return target{}
}

// addressRecords answers A, AAAA and ANY (and the types services do not
// have, which end up NODATA). Instances reached by host name give a CNAME,
// but only when no instance has an address: a name cannot hold a CNAME
// beside other records.
func (s *Server) addressRecords(q dns.Question, zone string, insts []healthyInstance, ttl uint32, depth int) result {
	var r result
	var cname []dns.RR
	seen := make(map[[16]byte]bool, len(insts))
	for _, in := range insts {
		addr := in.Service.Address
		_, isIP := parseIP(addr)
		host, isHost := hostname(addr)
		if !isIP && (!isHost || strings.EqualFold(host, q.Name)) {
			addr = in.Node.Address
		}
		if ip, ok := parseIP(addr); ok {
			if !wants(q.Qtype, ip) || seen[ip.As16()] {
				continue
			}
			seen[ip.As16()] = true
			r.answer = append(r.answer, ipRR(q.Name, ip, ttl))
			if s.st.aRecordLimit > 0 && len(r.answer) >= s.st.aRecordLimit {
				break
			}
			continue
		}
		if host, ok := hostname(addr); ok && cname == nil {
			cname = append([]dns.RR{&dns.CNAME{Hdr: hdr(q.Name, dns.TypeCNAME, ttl), Target: host}},
				s.resolveHost(host, q.Qtype, ttl, depth)...)
		}
	}
	if len(r.answer) == 0 {
		r.answer = cname
	}
	return r
}

// nodeLookup answers a node's address and, for TXT and ANY, its meta; A and
// AAAA answers carry the meta in the additional section as Consul's
// enable_additional_node_meta_txt does by default.
func (s *Server) nodeLookup(q dns.Question, n name, depth int) result {
	node, ok := s.cat.Node(n.node)
	if !ok || node == nil {
		return nxdomain(n.zone)
	}
	ttl := s.st.nodeTTL
	var r result
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		if ip, ok := parseIP(node.Address); ok {
			if wants(q.Qtype, ip) {
				r.answer = append(r.answer, ipRR(q.Name, ip, ttl))
			}
		} else if host, ok := hostname(node.Address); ok {
			r.answer = append(r.answer, &dns.CNAME{Hdr: hdr(q.Name, dns.TypeCNAME, ttl), Target: host})
			r.answer = append(r.answer, s.resolveHost(host, q.Qtype, ttl, depth)...)
		}
	}
	switch {
	case q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY:
		r.answer = append(r.answer, metaTXT(q.Name, node.Meta, ttl)...)
	case (q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA) && s.st.nodeMetaTXT:
		r.extra = append(r.extra, metaTXT(q.Name, node.Meta, ttl)...)
	}
	return r.orNoData(n.zone)
}

// resolveHost finds the addresses of a host name given as a service or
// node address: inside the zone by a nested lookup, elsewhere through the
// recursors (if any). Only address and alias records are kept, with the
// TTL of the answer they support, as Consul does.
func (s *Server) resolveHost(host string, qtype uint16, ttl uint32, depth int) []dns.RR {
	want := dns.TypeA
	if qtype == dns.TypeAAAA {
		want = dns.TypeAAAA
	}
	var rrs []dns.RR
	if n, ok := s.st.zones.parse(host, want); ok {
		if depth <= 0 {
			return nil
		}
		rrs = s.lookup(dns.Question{Name: host, Qtype: want, Qclass: dns.ClassINET}, n, depth-1).answer
	} else {
		rrs = s.resolveExternal(host, want)
	}
	out := rrs[:0:0]
	for _, rr := range rrs {
		switch rr.Header().Rrtype {
		case dns.TypeA, dns.TypeAAAA, dns.TypeCNAME:
			rr = dns.Copy(rr)
			rr.Header().Ttl = ttl
			out = append(out, rr)
		}
	}
	return out
}
