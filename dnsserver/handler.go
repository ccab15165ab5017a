package dnsserver

import (
	"context"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/miekg/dns"
)

// ServeDNS answers one query; Server is the dns.Handler of its own UDP and
// TCP listeners and can be mounted on any other miekg/dns server.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	start := time.Now()
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	defer func() {
		// A bug in one answer must not take the listener down with it.
		if p := recover(); p != nil {
			s.log.Error("panic answering a query", "panic", p, "stack", string(debug.Stack()))
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeServerFailure)
			_ = w.WriteMsg(m)
		}
	}()

	m, wire, release := s.respond(req, tcp)
	var err error
	if wire != nil {
		_, err = w.Write(wire)
		release()
	} else {
		err = w.WriteMsg(m)
	}
	if err != nil {
		s.log.Warn("failed to write a DNS response", "client", w.RemoteAddr().String(), "error", err)
	}
	s.measure(req, m, start)
	if s.log.Enabled(context.Background(), slog.LevelDebug) && len(req.Question) > 0 {
		q := req.Question[0]
		s.log.Debug("answered",
			"name", q.Name, "type", dns.TypeToString[q.Qtype],
			"rcode", dns.RcodeToString[m.Rcode], "answers", len(m.Answer), "truncated", m.Truncated,
			"client", w.RemoteAddr().String(), "tcp", tcp, "latency", time.Since(start))
	}
}

// Answer computes the response to req as it would be sent over UDP (tcp
// false) or TCP. It is ServeDNS without the socket, for tests and callers
// that embed the server.
func (s *Server) Answer(req *dns.Msg, tcp bool) *dns.Msg {
	m, _, local := s.reply(req, tcp)
	if local {
		s.finish(req, m, tcp)
	}
	return m
}

// reply computes the response to req. local reports a response built here
// from the catalog, which finish must still fit to the transport; the
// others (errors, recursors, other datacenters) are complete. n is the
// name asked, for a local one.
func (s *Server) reply(req *dns.Msg, tcp bool) (m *dns.Msg, n name, local bool) {
	m = new(dns.Msg)
	if len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeFormatError)
		return m, n, false
	}
	if req.Opcode != dns.OpcodeQuery {
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m, n, false
	}
	q := req.Question[0]
	n, inZone := s.st.zones.parse(q.Name, q.Qtype)
	if !inZone {
		return s.recurse(req, tcp), n, false
	}
	if remote, ok := s.remoteAnswer(req, n, tcp); ok {
		return remote, n, false
	}

	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = len(s.st.recursors) > 0
	m.Compress = true
	switch q.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		// The zone changes with every registration; there is nothing
		// sensible to transfer, and Consul does not either.
		m.Rcode = dns.RcodeNotImplemented
	default:
		if err := s.readBarrier(); err != nil {
			s.log.Warn("no consistent answer: the read barrier failed (dns_config.allow_stale = false)",
				"name", q.Name, "type", dns.TypeToString[q.Qtype], "error", err)
			m.Rcode = dns.RcodeServerFailure
			break
		}
		r := s.lookup(q, n, maxDepth)
		m.Rcode, m.Answer, m.Ns, m.Extra = r.rcode, r.answer, r.ns, r.extra
	}
	return m, n, true
}

// finish echoes the client's EDNS0 and fits m to the transport, setting TC
// by the rules of truncate.go.
func (s *Server) finish(req, m *dns.Msg, tcp bool) {
	setEDNS(req, m)

	size, answers := s.limits(req, tcp)
	trimmed, empty := fit(m, size, answers)
	if empty || (trimmed && s.st.enableTruncate) {
		m.Truncated = true
	}
}

// setEDNS echoes the client's OPT record: its buffer size, and its client
// subnet with scope 0 because catalog answers do not depend on who asks.
func setEDNS(req, m *dns.Msg) {
	opt := req.IsEdns0()
	if opt == nil {
		return
	}
	out := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	out.SetUDPSize(max(opt.UDPSize(), dns.MinMsgSize))
	for _, o := range opt.Option {
		if sub, ok := o.(*dns.EDNS0_SUBNET); ok {
			out.Option = append(out.Option, &dns.EDNS0_SUBNET{
				Code:          dns.EDNS0SUBNET,
				Family:        sub.Family,
				SourceNetmask: sub.SourceNetmask,
				SourceScope:   0,
				Address:       sub.Address,
			})
		}
	}
	m.Extra = append(m.Extra, out)
}

// readBarrier waits, when allow_stale is off, until the catalog holds every
// write acknowledged before the query.
func (s *Server) readBarrier() error {
	if s.st.barrier == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.st.barrierWait)
	defer cancel()
	return s.st.barrier(ctx)
}
