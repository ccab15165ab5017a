package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/preparedquery"
)

// A prepared query that finds no healthy instance here fails over to other
// datacenters, as Consul's does: the Failover.NearestN nearest ones (by
// the WAN coordinates, this one left out), then the known ones of
// Failover.Datacenters not tried yet, in order, until one answers with
// instances (preparedquery.FailoverTargets). Each is asked to execute this datacenter's definition of the
// query against its own catalog, with the request's token.

// queryDefinitionKey carries the definition of a query another datacenter
// asks this one to execute (WithQueryDefinition).
type queryDefinitionKey struct{}

// WithQueryDefinition marks ctx as that of a request from another
// datacenter's failover: /v1/query/:id/execute then executes q rather than
// a query of this datacenter, and does not fail over itself. Only the
// agent's WAN code sets it, on requests that came through the gateways.
func WithQueryDefinition(ctx context.Context, q *event.PreparedQuery) context.Context {
	return context.WithValue(ctx, queryDefinitionKey{}, q)
}

// queryDefinition is the definition a failover request carries, nil on
// any other request.
func queryDefinition(r *http.Request) *event.PreparedQuery {
	q, _ := r.Context().Value(queryDefinitionKey{}).(*event.PreparedQuery)
	return q
}

// QueryExecutor is the part of Remote that runs a query's failover: it
// executes q in datacenter dc with r's token and ?limit, and returns the
// answer's status and body (Consul's PreparedQueryExecuteResponse when
// 200).
type QueryExecutor interface {
	ExecuteQuery(ctx context.Context, dc string, r *http.Request, q *event.PreparedQuery) (status int, body []byte)
}

// failover asks the query's failover datacenters in turn; ok false when
// none answered with instances (or there are none to ask).
func (s *Server) failover(r *http.Request, q *event.PreparedQuery) (apiQueryExecuteResponse, bool) {
	exec, _ := s.cfg.Remote.(QueryExecutor)
	if exec == nil || queryDefinition(r) != nil || !preparedquery.HasFailover(q) {
		return apiQueryExecuteResponse{}, false
	}
	known, err := s.cfg.Remote.Datacenters(r.Context())
	if err != nil {
		s.log.Warn("prepared query failover: no datacenters", "query", q.Name, "error", err)
	}
	targets := preparedquery.FailoverTargets(q, s.cfg.Datacenter, known)
	failovers := 0
	for _, dc := range targets {
		failovers++
		status, body := exec.ExecuteQuery(r.Context(), dc, r, q)
		var out apiQueryExecuteResponse
		if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
			s.log.Warn("prepared query failover: no answer", "query", q.Name, "datacenter", dc, "status", status,
				"answer", string(body))
			continue
		}
		if len(out.Nodes) > 0 {
			out.Failovers = failovers
			return out, true
		}
	}
	return apiQueryExecuteResponse{}, false
}
