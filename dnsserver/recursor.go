package dnsserver

import (
	"github.com/miekg/dns"
)

// recurse forwards a query for a name outside the zones to the recursors in
// order, over the transport the client used (so a client that retries over
// TCP after a truncated answer gets the whole answer from upstream too).
// The first recursor that answers NOERROR or NXDOMAIN wins; any other
// answer or a timeout moves on to the next; when none is left the client
// gets SERVFAIL. Without recursors Consul refuses the query.
func (s *Server) recurse(req *dns.Msg, tcp bool) *dns.Msg {
	if len(s.st.recursors) == 0 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeRefused)
		return m
	}
	c := s.udpClient
	if tcp {
		c = s.tcpClient
	}
	q := req.Question[0]
	for _, addr := range s.st.recursors {
		r, rtt, err := c.Exchange(req, addr)
		if err != nil && (r == nil || !r.Truncated) {
			s.log.Debug("recursor failed", "recursor", addr, "name", q.Name, "type", dns.TypeToString[q.Qtype], "error", err)
			continue
		}
		if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			s.log.Debug("recursor refused an answer", "recursor", addr, "name", q.Name, "rcode", dns.RcodeToString[r.Rcode], "rtt", rtt)
			continue
		}
		// Upstream may not have compressed; the client's size limit was in
		// the forwarded query, so upstream already sized the answer for it.
		r.Compress = true
		r.RecursionAvailable = true
		r.Id = req.Id
		return r
	}
	s.log.Warn("all recursors failed", "name", q.Name, "type", dns.TypeToString[q.Qtype], "recursors", len(s.st.recursors))
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeServerFailure)
	m.RecursionAvailable = true
	return m
}

// resolveExternal asks the recursors for a host name's addresses, for the
// additional records of an answer that points outside the zone. A failure
// only means the client resolves the name itself.
func (s *Server) resolveExternal(host string, qtype uint16) []dns.RR {
	if len(s.st.recursors) == 0 {
		return nil
	}
	m := new(dns.Msg)
	m.SetQuestion(host, qtype)
	for _, addr := range s.st.recursors {
		r, _, err := s.udpClient.Exchange(m, addr)
		if err == nil && r.Rcode == dns.RcodeSuccess {
			return r.Answer
		}
	}
	return nil
}
