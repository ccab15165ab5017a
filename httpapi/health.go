package httpapi

import (
	"net/http"
	"strings"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/projections"
)

func (s *Server) healthNode(w http.ResponseWriter, r *http.Request) error {
	info, ok, err := s.readNodeAt(w, r, "/v1/health/node/")
	if !ok {
		return err
	}
	out := []apiCheck{}
	if info != nil {
		out = toChecks(info.Checks)
	}
	return writeFiltered(w, r, out)
}

func (s *Server) healthChecks(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, "/v1/health/checks/")
	if name == "" {
		return badRequest("Missing service name")
	}
	checks, ok, err := readCatalog(s, w, r, func(watch bool) ([]*event.Check, uint64, <-chan struct{}) {
		return s.cfg.Catalog.ServiceChecks(name, watch)
	})
	if !ok {
		return err
	}
	checks = aclFilter(w, r, checks, canReadCheck)
	return writeFiltered(w, r, toChecks(sortNear(s, r, checks, checkNode)))
}

func (s *Server) healthState(w http.ResponseWriter, r *http.Request) error {
	state := strings.TrimPrefix(r.URL.Path, "/v1/health/state/")
	switch state {
	case "any", event.HealthPassing, event.HealthWarning, event.HealthCritical:
	default:
		return badRequest("Bad state %q: must be one of any, passing, warning, critical", state)
	}
	checks, ok, err := readCatalog(s, w, r, func(watch bool) ([]*event.Check, uint64, <-chan struct{}) {
		return s.cfg.Catalog.Checks(func(c *event.Check) bool { return state == "any" || c.Status == state }, watch)
	})
	if !ok {
		return err
	}
	checks = aclFilter(w, r, checks, canReadCheck)
	return writeFiltered(w, r, toChecks(sortNear(s, r, checks, checkNode)))
}

func (s *Server) healthService(w http.ResponseWriter, r *http.Request) error {
	instances, index, ok, err := s.instancesAt(w, r, "/v1/health/service/")
	if !ok {
		return err
	}
	return s.writeHealthInstances(w, r, instances, index)
}

// writeHealthInstances answers instances in /v1/health/service's shape,
// with ?passing.
func (s *Server) writeHealthInstances(w http.ResponseWriter, r *http.Request, instances []projections.Instance, index uint64) error {
	_, passingOnly := queryOf(r)["passing"]
	if v := queryOf(r).Get("passing"); v == "false" || v == "0" {
		passingOnly = false
	}
	instances = aclFilter(w, r, instances, canReadInstance)
	instances = sortNear(s, r, instances, func(in projections.Instance) string { return in.Node.Node })
	return s.writeNearJSON(w, r, index, func() (any, error) {
		out := make([]apiServiceEntry, 0, len(instances))
		for _, in := range instances {
			if passingOnly && health.Instance(in.Service.ID, in.Checks) != health.Passing {
				continue
			}
			out = append(out, apiServiceEntry{Node: toNode(in.Node), Service: toService(in.Service, ""), Checks: toChecks(in.Checks)})
		}
		return filterList(r, out)
	})
}

func checkNode(c *event.Check) string { return c.Node }
