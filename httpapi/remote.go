package httpapi

import (
	"context"
	"net/http"
	"sort"
	"strings"
)

// Remote is what the API needs of the other datacenters
// (docs/multi-datacenter.md).
type Remote interface {
	// Datacenters lists every known datacenter, nearest first.
	Datacenters(ctx context.Context) ([]string, error)
	// Forward answers r, a request for datacenter dc, with the answer of
	// a server of dc: its status, headers and body, or Consul's 500 "No
	// path to datacenter".
	Forward(w http.ResponseWriter, r *http.Request, dc string)
	// WANMembers, JoinWAN and ForceLeaveWAN are the ?wan=1 forms of
	// /v1/agent/members, join and force-leave.
	WANMembers() []Member
	JoinWAN(addr string) error
	ForceLeaveWAN(node string, prune bool) error
	// WANCoordinates are the WAN pool's servers' coordinates by
	// datacenter, nil without a WAN pool.
	WANCoordinates() map[string][]CoordinateEntry
}

// localOnly are the paths that answer for this agent whatever their ?dc:
// the agent's own endpoints, and the lists of datacenters.
var localOnly = []string{"/v1/agent/", "/v1/catalog/datacenters", "/v1/coordinate/datacenters"}

// forwardToDatacenter sends a request for another datacenter there, and
// reports whether it did. Without Remote, checkDC answers it.
func (s *Server) forwardToDatacenter(w http.ResponseWriter, r *http.Request) bool {
	dc := strings.ToLower(r.URL.Query().Get("dc"))
	// Datacenter names are lower case (agent/config): a request for this
	// one in other letters is this one's, never sent around again.
	if dc == "" || dc == s.cfg.Datacenter || s.cfg.Remote == nil {
		return false
	}
	for _, p := range localOnly {
		if strings.HasPrefix(r.URL.Path, p) {
			return false
		}
	}
	s.cfg.Remote.Forward(w, r, dc)
	return true
}

// datacenters serves /v1/catalog/datacenters.
func (s *Server) datacenters(r *http.Request) ([]string, error) {
	if s.cfg.Remote == nil {
		return []string{s.cfg.Datacenter}, nil
	}
	return s.cfg.Remote.Datacenters(r.Context())
}

// wanDatacenterMaps is /v1/coordinate/datacenters from the WAN pool, nil
// without one.
func (s *Server) wanDatacenterMaps() []coordinateDatacenterMap {
	if s.cfg.Remote == nil {
		return nil
	}
	coords := s.cfg.Remote.WANCoordinates()
	if coords == nil {
		return nil
	}
	out := make([]coordinateDatacenterMap, 0, len(coords))
	for dc, list := range coords {
		sort.Slice(list, func(i, j int) bool { return list[i].Node < list[j].Node })
		out = append(out, coordinateDatacenterMap{Datacenter: dc, AreaID: "wan", Coordinates: list})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Datacenter < out[j].Datacenter })
	return out
}

// wanQuery reports whether r asks about the WAN pool: ?wan, with any
// value (the official client sends wan=1), as Consul reads it.
func wanQuery(r *http.Request) bool {
	_, ok := r.URL.Query()["wan"]
	return ok
}
