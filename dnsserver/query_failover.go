package dnsserver

import (
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/preparedquery"
	"github.com/heraldhq/herald/projections"
)

// QueryFailoverFunc answers question, of a prepared query q that found no
// instance here, from the datacenters q fails over to (the first that
// answers with records); ok false when none does.
type QueryFailoverFunc func(q *event.PreparedQuery, question dns.Question) (m *dns.Msg, ok bool)

// FromProjectionWithQuery is FromProjection for a query another
// datacenter fails over to this one: every query name executes q, the
// other datacenter's definition.
func FromProjectionWithQuery(c *projections.Catalog, q *event.PreparedQuery) Catalog {
	return definitionCatalog{projectionCatalog{c: c}, q}
}

type definitionCatalog struct {
	projectionCatalog
	q *event.PreparedQuery
}

func (d definitionCatalog) ExecuteQuery(string) (*event.PreparedQuery, []preparedquery.Answer, error) {
	return d.q, d.execute(d.q), nil
}

// queryFailover answers a query that found nothing here from its failover
// datacenters, when it has some and the server was given a way there.
func (s *Server) queryFailover(q dns.Question, query *event.PreparedQuery) (result, bool) {
	if s.st.queryFailover == nil || !preparedquery.HasFailover(query) {
		return result{}, false
	}
	m, ok := s.st.queryFailover(query, q)
	if !ok {
		return result{}, false
	}
	return result{rcode: m.Rcode, answer: m.Answer, ns: m.Ns, extra: m.Extra}, true
}
