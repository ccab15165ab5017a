package dnsserver

import (
	"encoding/hex"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

func hdr(owner string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}

// ipRR is the A or AAAA record of ip, by its family.
func ipRR(owner string, ip netip.Addr, ttl uint32) dns.RR {
	if ip.Is4() {
		a := ip.As4()
		return &dns.A{Hdr: hdr(owner, dns.TypeA, ttl), A: a[:]}
	}
	a := ip.As16()
	return &dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA, ttl), AAAA: a[:]}
}

// wants reports whether a query of type qtype is answered with ip's record.
func wants(qtype uint16, ip netip.Addr) bool {
	switch qtype {
	case dns.TypeANY:
		return true
	case dns.TypeA:
		return ip.Is4()
	case dns.TypeAAAA:
		return ip.Is6()
	}
	return false
}

// parseIP reads a catalog address as an IP. Zones are dropped (they mean
// nothing to a remote client) and IPv4-mapped addresses answer as A records.
func parseIP(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.WithZone("").Unmap(), true
}

// hostname returns s fully qualified if it can stand as a DNS name in a
// CNAME or SRV target; an address that is neither an IP nor a host name is
// useless to a DNS client.
func hostname(s string) (string, bool) {
	if s == "" || s == "." || strings.ContainsAny(s, "\\ \t\"();@$") {
		return "", false
	}
	fq := dns.Fqdn(s)
	if _, ok := dns.IsDomainName(fq); !ok {
		return "", false
	}
	return fq, true
}

// nodeName is Consul's canonical name of a node, <node>.node.<dc>.<zone>,
// or false when the node's name cannot be a DNS name (then the caller uses
// an .addr target instead).
func (s *Server) nodeName(node, zone string) (string, bool) {
	if node == "" {
		return "", false
	}
	for _, l := range strings.Split(node, ".") {
		if !validLabel(l) {
			return "", false
		}
	}
	fq := node + ".node." + s.st.dc + "." + zone
	if _, ok := dns.IsDomainName(fq); !ok {
		return "", false
	}
	return fq, true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// addrName is the name Consul gives an address that has no node name to
// stand for it: the IP's bytes in hex under .addr.<dc>.<zone>.
func (s *Server) addrName(ip netip.Addr, zone string) string {
	b := ip.AsSlice()
	return hex.EncodeToString(b) + ".addr." + s.st.dc + "." + zone
}

// soa is the zone's SOA, with Consul's default timers. The serial is the
// clock: the zone changes all the time and nothing transfers it.
func soa(zone string) *dns.SOA {
	return &dns.SOA{
		Hdr:     hdr(zone, dns.TypeSOA, soaMinTTL),
		Ns:      "ns." + zone,
		Mbox:    "hostmaster." + zone,
		Serial:  uint32(time.Now().Unix()),
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  soaMinTTL,
	}
}

// metaTXT is a node's meta as TXT records, one per key in key order. Keys
// starting with "rfc1035-" give their bare value, the others RFC 1464
// key=value, as Consul does.
func metaTXT(owner string, meta map[string]string, ttl uint32) []dns.RR {
	if len(meta) == 0 {
		return nil
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rrs := make([]dns.RR, 0, len(keys))
	for _, k := range keys {
		txt := meta[k]
		if !strings.HasPrefix(strings.ToLower(k), "rfc1035-") {
			txt = rfc1464(k, txt)
		}
		rrs = append(rrs, &dns.TXT{Hdr: hdr(owner, dns.TypeTXT, ttl), Txt: txtStrings(txt)})
	}
	return rrs
}

// rfc1464 encodes an attribute: backquote escapes "`" and "=" in the key
// and the key's leading and trailing spaces; in the value only "`".
func rfc1464(key, value string) string {
	var b strings.Builder
	trimmed := strings.TrimLeft(key, " ")
	lead := len(key) - len(trimmed)
	core := strings.TrimRight(trimmed, " ")
	trail := len(trimmed) - len(core)
	b.WriteString(strings.Repeat("` ", lead))
	for i := 0; i < len(core); i++ {
		if core[i] == '`' || core[i] == '=' {
			b.WriteByte('`')
		}
		b.WriteByte(core[i])
	}
	b.WriteString(strings.Repeat("` ", trail))
	b.WriteByte('=')
	b.WriteString(strings.ReplaceAll(value, "`", "``"))
	return b.String()
}

// txtStrings splits s into the 255-byte character-strings a TXT record is
// made of, escaped the way miekg/dns reads its Txt fields (a lone backslash
// would otherwise start an escape).
func txtStrings(s string) []string {
	var out []string
	for {
		chunk := s
		if len(chunk) > 255 {
			chunk = chunk[:255]
		}
		out = append(out, strings.ReplaceAll(chunk, `\`, `\\`))
		s = s[len(chunk):]
		if s == "" {
			return out
		}
	}
}
