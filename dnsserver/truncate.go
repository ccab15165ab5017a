package dnsserver

import (
	"strings"

	"github.com/miekg/dns"
)

// maxUDPPayload is the largest UDP payload over IPv4; a client advertising
// more in EDNS0 gets this much.
const maxUDPPayload = 65507

// limits returns the size a response to req may take and the most answers
// it may carry (0 = no count limit). Consul applies udp_answer_limit only
// to 512-byte responses: plain UDP, or EDNS0 with a buffer no larger than
// that (RFC 6891 reads a smaller one as 512).
func (s *Server) limits(req *dns.Msg, tcp bool) (size, answers int) {
	if tcp {
		return dns.MaxMsgSize, 0
	}
	size = dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
		size = min(int(opt.UDPSize()), maxUDPPayload)
	}
	if size == dns.MinMsgSize {
		answers = s.st.udpAnswerLimit
	}
	return size, answers
}

// fit cuts m to at most maxAnswers answers and size bytes on the wire (as
// it will be sent, compressed), keeping the additional records that the
// remaining answers still refer to. It drops answers from the end, which is
// a random subset since answers are shuffled. trimmed reports that answers
// were dropped; empty that not even one fit, so that the client must be
// told to retry over TCP.
func fit(m *dns.Msg, size, maxAnswers int) (trimmed, empty bool) {
	all, extra := m.Answer, m.Extra
	total := len(all)
	apply := func(k int) {
		m.Answer = all[:k]
		if k == total {
			m.Extra = extra
		} else {
			m.Extra = referenced(all[:k], extra)
		}
	}
	keep := total
	if maxAnswers > 0 && keep > maxAnswers {
		keep = maxAnswers
		apply(keep)
	}
	if !fits(m, size) {
		// The SOA only helps negative caching; answers matter more.
		m.Ns = nil
	}
	if !fits(m, size) {
		// Largest k that fits: lo always fits (no answers, no extras beyond
		// OPT), hi never does.
		lo, hi := 0, keep
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			apply(mid)
			if fits(m, size) {
				lo = mid
			} else {
				hi = mid
			}
		}
		keep = lo
		apply(keep)
		if keep == 0 && total > 0 {
			// One answer alone might fit once its extras go.
			m.Answer, m.Extra = all[:1], optOnly(extra)
			if fits(m, size) {
				keep = 1
			} else {
				m.Answer = nil
			}
		}
	}
	if !fits(m, size) {
		// Only extras or an oversized question are left to blame.
		m.Answer, m.Ns, m.Extra = nil, nil, optOnly(extra)
		keep = 0
	}
	return keep < total, len(m.Answer) == 0 && total > 0
}

// referenced keeps the extra records that answer names: SRV and CNAME
// targets and the answers' own names (node meta TXT), following CNAME
// chains inside the extras. The OPT record always stays.
func referenced(answer, extra []dns.RR) []dns.RR {
	names := make(map[string]bool, 2*len(answer))
	for _, rr := range answer {
		names[strings.ToLower(rr.Header().Name)] = true
		switch rr := rr.(type) {
		case *dns.SRV:
			names[strings.ToLower(rr.Target)] = true
		case *dns.CNAME:
			names[strings.ToLower(rr.Target)] = true
		}
	}
	for grew := true; grew; {
		grew = false
		for _, rr := range extra {
			if c, ok := rr.(*dns.CNAME); ok && names[strings.ToLower(c.Hdr.Name)] && !names[strings.ToLower(c.Target)] {
				names[strings.ToLower(c.Target)] = true
				grew = true
			}
		}
	}
	out := make([]dns.RR, 0, len(extra))
	for _, rr := range extra {
		if rr.Header().Rrtype == dns.TypeOPT || names[strings.ToLower(rr.Header().Name)] {
			out = append(out, rr)
		}
	}
	return out
}

func optOnly(extra []dns.RR) []dns.RR {
	for _, rr := range extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			return []dns.RR{rr}
		}
	}
	return nil
}

// fits reports whether m packs into size bytes. The uncompressed length is
// cheap and an upper bound; the compressed one (what is sent) costs a name
// map, so it is only worked out when the bound is not enough.
func fits(m *dns.Msg, size int) bool {
	compress := m.Compress
	m.Compress = false
	n := m.Len()
	m.Compress = compress
	if n <= size || !compress {
		return n <= size
	}
	return m.Len() <= size
}
