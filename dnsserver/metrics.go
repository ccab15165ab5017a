package dnsserver

import (
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/telemetry"
)

// measure records an answered query in Consul's timers: consul.dns.ptr_query
// for reverse lookups, consul.dns.domain_query for the others, labelled
// with the query type and the answer's rcode.
func (s *Server) measure(req, m *dns.Msg, start time.Time) {
	if s.metrics == nil {
		return
	}
	qtype := "none"
	if len(req.Question) > 0 {
		qtype = dns.TypeToString[req.Question[0].Qtype]
	}
	key := []string{"dns", "domain_query"}
	if qtype == "PTR" {
		key = []string{"dns", "ptr_query"}
	}
	s.metrics.MeasureSince(key, start,
		telemetry.Label{Name: "type", Value: qtype},
		telemetry.Label{Name: "rcode", Value: dns.RcodeToString[m.Rcode]})
}
