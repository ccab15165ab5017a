package dnsserver

import (
	"errors"

	"github.com/miekg/dns"
)

// RemoteFunc answers a query whose name is in another datacenter with the
// answer of a server of that datacenter; errors.Is(err, ErrNoPath) when no
// server of it can be reached.
type RemoteFunc func(dc string, req *dns.Msg, tcp bool) (*dns.Msg, error)

// ErrNoPath is the error a RemoteFunc wraps when the datacenter cannot be
// reached: the name is answered NXDOMAIN, as Consul answers it.
var ErrNoPath = errors.New("No path to datacenter")

// remoteAnswer answers a query for another datacenter, when n names one
// and the server was given a way there; ok false leaves the query to the
// local lookup.
func (s *Server) remoteAnswer(req *dns.Msg, n name, tcp bool) (m *dns.Msg, ok bool) {
	if s.st.remote == nil || n.dc == "" || n.dc == s.st.dc {
		return nil, false
	}
	if n.kind != kindService && n.kind != kindNode && n.kind != kindQuery {
		return nil, false
	}
	m, err := s.st.remote(n.dc, req, tcp)
	if err == nil {
		m.Id = req.Id
		return m, true
	}
	m = new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if errors.Is(err, ErrNoPath) {
		r := nxdomain(n.zone)
		m.Rcode, m.Ns = r.rcode, r.ns
		return m, true
	}
	s.log.Warn("no answer from another datacenter", "datacenter", n.dc, "name", req.Question[0].Name, "error", err)
	m.Rcode = dns.RcodeServerFailure
	return m, true
}
