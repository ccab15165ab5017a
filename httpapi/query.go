package httpapi

import (
	"errors"
	"fmt"
	"github.com/heraldhq/herald/acl"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/preparedquery"
)

// Prepared queries: /v1/query and /v1/query/:id[/execute|/explain]. The
// rules are package preparedquery's; writes are query-set and query-delete
// commands of the catalog shard. Consul answers every refused write with
// 500 and its message (the refusals come back from its RPC layer), and an
// unknown query with 404 "Query not found".

func (s *Server) routeQueries() {
	s.route("/v1/query", s.queryGeneral, "GET", "POST")
	s.route("/v1/query/", s.querySpecific, "GET", "PUT", "DELETE")
}

func internalError(format string, args ...any) error {
	return &apiError{http.StatusInternalServerError, fmt.Sprintf(format, args...)}
}

var errQueryNotFound = &apiError{http.StatusNotFound, preparedquery.ErrNotFound.Error()}

func (s *Server) queryGeneral(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPost {
		return s.queryCreate(w, r)
	}
	queries, ok, err := readCatalog(s, w, r, s.cfg.Catalog.Queries)
	if !ok {
		return err
	}
	return writeJSON(w, http.StatusOK, aclQueries(w, r, queries))
}

func (s *Server) querySpecific(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, "/v1/query/")
	for suffix, answer := range map[string]func(http.ResponseWriter, *http.Request, string) error{
		"/execute": s.queryExecute, "/explain": s.queryExplain,
	} {
		if name, ok := strings.CutSuffix(id, suffix); ok {
			if r.Method != http.MethodGet {
				w.Header().Set("Allow", "GET")
				httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
				return nil
			}
			return answer(w, r, name)
		}
	}
	switch r.Method {
	case http.MethodPut:
		return s.queryUpdate(w, r, id)
	case http.MethodDelete:
		return s.queryDelete(w, r, id)
	}
	q, ok, err := readCatalog(s, w, r, func(watch bool) (*event.PreparedQuery, uint64, <-chan struct{}) {
		return s.cfg.Catalog.Query(id, watch)
	})
	if !ok {
		return err
	}
	if q == nil {
		return errQueryNotFound
	}
	visible := aclQueries(w, r, []*event.PreparedQuery{q})
	if len(visible) == 0 {
		return authorize(r, acl.ResourceQuery, q.Name, acl.Read)
	}
	return writeJSON(w, http.StatusOK, visible)
}

func (s *Server) queryCreate(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	var q event.PreparedQuery
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	if q.ID != "" {
		return internalError("ID must be empty when creating a new prepared query")
	}
	q.ID = event.NewUUID()
	if err := s.proposeQuery(r, true, q); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{ ID string }{q.ID})
}

func (s *Server) queryUpdate(w http.ResponseWriter, r *http.Request, id string) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	var q event.PreparedQuery
	// Consul reads the body only when there is one; the ID is the path's.
	if body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20)); err != nil {
		return badRequest("Failed to read body: %v", err)
	} else if len(strings.TrimSpace(string(body))) > 0 {
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if err := decodeBody(r, &q); err != nil {
			return err
		}
	}
	q.ID = id
	return s.proposeQuery(r, false, q)
}

// proposeQuery checks a definition as Consul does before its Raft apply
// and proposes it; the state machine checks the rest (names, templates).
func (s *Server) proposeQuery(r *http.Request, create bool, q event.PreparedQuery) error {
	if !create {
		if old, _, _ := s.cfg.Catalog.Query(q.ID, false); old == nil {
			return internalError("Cannot modify non-existent prepared query: '%s'", q.ID)
		}
	}
	if err := preparedquery.Validate(&q); err != nil {
		return internalError("%v", err)
	}
	// Sessions live in the kv shard: the binding is checked against this
	// agent's copy of them, before the catalog shard is asked.
	if q.Session != "" && s.cfg.KV.Session(q.Session) == nil {
		return internalError("invalid session %q", q.Session)
	}
	q.CreateIndex, q.ModifyIndex = 0, 0
	_, err := s.propose(r, command.Command{Body: &command.QuerySetBody{Create: create, Query: q}}, http.StatusInternalServerError)
	return err
}

func (s *Server) queryDelete(w http.ResponseWriter, r *http.Request, id string) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	_, err := s.propose(r, command.Command{Body: &command.QueryDeleteBody{ID: id}}, http.StatusInternalServerError)
	return err
}

// resolveQuery finds the query an execute or explain names, after the
// read's consistency mode, with the read's options and the queries' index.
func (s *Server) resolveQuery(r *http.Request, idOrName string) (*event.PreparedQuery, query, uint64, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, q, 0, err
	}
	if err := s.prepareRead(r, q, command.ShardCatalog); err != nil {
		return nil, q, 0, err
	}
	queries, index, _ := s.cfg.Catalog.Queries(false)
	found, err := preparedquery.Resolve(queries, idOrName)
	if errors.Is(err, preparedquery.ErrNotFound) {
		return nil, q, 0, errQueryNotFound
	}
	if err != nil {
		return nil, q, 0, internalError("%v", err)
	}
	return found, q, index, nil
}

// queryLimit reads ?limit; Consul answers a bad one with a 500.
func queryLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, internalError("Bad limit: %s", err)
	}
	return n, nil
}

// apiQueryExecuteResponse is Consul's PreparedQueryExecuteResponse.
type apiQueryExecuteResponse struct {
	Service    string
	Nodes      []apiServiceEntry
	DNS        event.QueryDNSOptions
	Datacenter string
	// Failovers counts the other datacenters tried (query_failover.go).
	Failovers int
}

func (s *Server) queryExecute(w http.ResponseWriter, r *http.Request, idOrName string) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	query, opts, queriesIndex, err := s.resolveQuery(r, idOrName)
	if remote := queryDefinition(r); remote != nil {
		query, err = remote, nil
	}
	if err != nil {
		return err
	}
	// ?connect is accepted; Herald has no Connect proxies, so it changes
	// nothing, as Service.Connect does not.
	instances, index, _ := s.cfg.Catalog.ServiceInstances(query.Service.Service, false)
	s.setMeta(w, opts, command.ShardCatalog, max(index, queriesIndex))
	instances = aclFilter(w, r, instances, canReadInstance)
	answers := preparedquery.Filter(query, instances)
	near := r.URL.Query().Get("near")
	if near == "" {
		near = query.Service.Near
	}
	preparedquery.Order(answers, near, s.cfg.Agent.NodeName())
	answers = sortNearTo(s, near, answers, func(a preparedquery.Answer) string { return a.Node.Node })
	answers = preparedquery.Limit(answers, limit)
	if len(answers) == 0 {
		if out, ok := s.failover(r, query); ok {
			return writeJSON(w, http.StatusOK, out)
		}
	}
	out := apiQueryExecuteResponse{Service: query.Service.Service, Nodes: make([]apiServiceEntry, len(answers)),
		DNS: query.DNS, Datacenter: s.cfg.Datacenter}
	for i, a := range answers {
		out.Nodes[i] = apiServiceEntry{Node: toNode(a.Node), Service: toService(a.Service, ""), Checks: toChecks(a.Checks)}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) queryExplain(w http.ResponseWriter, r *http.Request, idOrName string) error {
	if _, err := queryLimit(r); err != nil {
		return err
	}
	query, opts, index, err := s.resolveQuery(r, idOrName)
	if err != nil {
		return err
	}
	if err := authorize(r, acl.ResourceQuery, query.Name, acl.Read); err != nil {
		return err
	}
	s.setMeta(w, opts, command.ShardCatalog, index)
	return writeJSON(w, http.StatusOK, struct{ Query *event.PreparedQuery }{query})
}
