package dnsserver

import (
	"errors"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/preparedquery"
)

// QueryCatalog is a Catalog that also runs prepared queries. A Catalog
// that is not one answers every query name with NXDOMAIN.
type QueryCatalog interface {
	// ExecuteQuery resolves a query's name or ID and returns the query
	// (rendered, for a template) and the instances it answers, in order;
	// preparedquery.ErrNotFound when no query has that name.
	ExecuteQuery(idOrName string) (*event.PreparedQuery, []preparedquery.Answer, error)
}

// ExecuteQuery runs a prepared query against the catalog projection, with
// package preparedquery's rules, as /v1/query/:id/execute does.
func (p projectionCatalog) ExecuteQuery(idOrName string) (*event.PreparedQuery, []preparedquery.Answer, error) {
	queries, _, _ := p.c.Queries(false)
	q, err := preparedquery.Resolve(queries, idOrName)
	if err != nil {
		return nil, nil, err
	}
	return q, p.execute(q), nil
}

// execute runs the definition q against the catalog.
func (p projectionCatalog) execute(q *event.PreparedQuery) []preparedquery.Answer {
	instances, _, _ := p.c.ServiceInstances(q.Service.Service, false)
	answers := preparedquery.Filter(q, instances)
	// DNS does not know the asking agent's node: "_agent" sorts nothing.
	preparedquery.Order(answers, q.Service.Near, "")
	return answers
}

// queryLookup answers <query>.query.<domain> from the query's execution:
// SRV or addresses as for a service, with the query's DNS TTL, else the
// service TTL of the service it looked for. An unknown query, or one with
// nothing to answer, is NXDOMAIN, as in Consul; a query that cannot run
// (a template looked up by ID) is SERVFAIL.
func (s *Server) queryLookup(q dns.Question, n name, depth int) result {
	qc, ok := s.cat.(QueryCatalog)
	if !ok {
		return nxdomain(n.zone)
	}
	query, answers, err := qc.ExecuteQuery(n.query)
	if errors.Is(err, preparedquery.ErrNotFound) {
		return nxdomain(n.zone)
	}
	if err != nil {
		s.log.Warn("prepared query failed", "query", n.query, "error", err)
		return result{rcode: dns.RcodeServerFailure}
	}
	if len(answers) == 0 {
		if r, ok := s.queryFailover(q, query); ok {
			return r
		}
		return nxdomain(n.zone)
	}
	ttl := s.st.serviceTTL.lookup(query.Service.Service)
	if query.DNS.TTL != "" {
		// Validated when the query was written.
		if d, err := time.ParseDuration(query.DNS.TTL); err == nil {
			ttl = uint32(d / time.Second)
		}
	}
	insts := make([]healthyInstance, len(answers))
	for i, a := range answers {
		insts[i] = healthyInstance{a.Instance, a.Health}
	}
	var r result
	if q.Qtype == dns.TypeSRV {
		r = s.srvRecords(q, n.zone, insts, ttl, depth)
	} else {
		r = s.addressRecords(q, n.zone, insts, ttl, depth)
	}
	return r.orNoData(n.zone)
}
