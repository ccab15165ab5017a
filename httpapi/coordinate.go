package httpapi

import (
	"errors"
	"github.com/heraldhq/herald/acl"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/serf/coordinate"

	"github.com/heraldhq/herald/log/command"
)

// CoordinateEntry is Consul's CoordinateEntry: a node's network
// coordinate in its LAN pool.
type CoordinateEntry struct {
	Node      string
	Segment   string
	Partition string `json:",omitempty"`
	Coord     *coordinate.Coordinate
}

// coordinateDatacenterMap is Consul's CoordinateDatacenterMap.
type coordinateDatacenterMap struct {
	Datacenter  string
	AreaID      string
	Coordinates []CoordinateEntry
}

// routeCoordinates registers the coordinate endpoints.
func (s *Server) routeCoordinates() {
	if s.cfg.Operator == nil {
		return // an API without an agent behind it (tests)
	}
	s.route("/v1/coordinate/datacenters", s.coordinateDatacenters, "GET")
	s.route("/v1/coordinate/nodes", s.coordinateNodes, "GET")
	s.route("/v1/coordinate/node/", s.coordinateNode, "GET")
	s.route("/v1/coordinate/update", s.coordinateUpdate, "PUT")
}

// coordinates lists the known coordinates by node name, keeping only the
// nodes of the catalog, as Consul's coordinate table does, and those of
// ?segment when it is given.
func (s *Server) coordinates(r *http.Request) []CoordinateEntry {
	all := s.cfg.Operator.Coordinates()
	segment, bySegment := queryOf(r)["segment"]
	out := make([]CoordinateEntry, 0, len(all))
	for _, c := range all {
		if bySegment && c.Segment != segment[0] {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// coordinateDatacenters serves /v1/coordinate/datacenters: Herald has one
// datacenter and no WAN pool, so it lists this datacenter's servers with
// their LAN coordinates.
func (s *Server) coordinateDatacenters(w http.ResponseWriter, r *http.Request) error {
	if maps := s.wanDatacenterMaps(); maps != nil {
		return writeJSON(w, http.StatusOK, maps)
	}
	servers := map[string]bool{}
	for _, m := range s.cfg.Agent.Members() {
		if m.Tags["role"] == "consul" {
			servers[m.Name] = true
		}
	}
	dc := coordinateDatacenterMap{Datacenter: s.cfg.Datacenter, AreaID: "wan", Coordinates: []CoordinateEntry{}}
	for _, c := range s.coordinates(r) {
		if servers[c.Node] {
			dc.Coordinates = append(dc.Coordinates, c)
		}
	}
	return writeJSON(w, http.StatusOK, []coordinateDatacenterMap{dc})
}

func (s *Server) coordinateNodes(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	_, index, _ := s.cfg.Catalog.Nodes(false)
	s.setMeta(w, q, command.ShardCatalog, index)
	return writeJSON(w, http.StatusOK, aclFilter(w, r, s.coordinates(r), canReadCoordinate))
}

// coordinateNode serves /v1/coordinate/node/:node; 404 when the node has
// no coordinate, as in Consul.
func (s *Server) coordinateNode(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	node := strings.TrimPrefix(r.URL.Path, "/v1/coordinate/node/")
	var out []CoordinateEntry
	for _, c := range s.coordinates(r) {
		if c.Node == node {
			out = append(out, c)
		}
	}
	_, index, _ := s.cfg.Catalog.Nodes(false)
	s.setMeta(w, q, command.ShardCatalog, index)
	out = aclFilter(w, r, out, canReadCoordinate)
	if len(out) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return nil
	}
	return writeJSON(w, http.StatusOK, out)
}

// coordinateUpdate serves PUT /v1/coordinate/update: the agent keeps the
// coordinate in memory (see Operator.UpdateCoordinate).
func (s *Server) coordinateUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	var in CoordinateEntry
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if in.Coord == nil || !in.Coord.IsValid() {
		return errors.New("invalid coordinate")
	}
	if err := authorize(r, acl.ResourceNode, in.Node, acl.Write); err != nil {
		return err
	}
	if err := s.cfg.Operator.UpdateCoordinate(in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// sortNear orders list by the estimated round trip from the node of
// ?near (or the agent's own node for "_agent"), nearest first, as
// Consul's ?near does; nodes without a coordinate go last, in their
// order. Without ?near, or when the node of ?near has no coordinate, list
// comes back as it was. The list is copied, never sorted in place: it may
// be a projection's.
func sortNear[T any](s *Server, r *http.Request, list []T, node func(T) string) []T {
	return sortNearTo(s, queryOf(r).Get("near"), list, node)
}

// sortNearTo is sortNear from the node near names: a prepared query's
// Service.Near as well as ?near.
func sortNearTo[T any](s *Server, near string, list []T, node func(T) string) []T {
	if near == "" || s.cfg.Operator == nil {
		return list
	}
	if near == "_agent" {
		near = s.cfg.Agent.NodeName()
	}
	coords := map[string]*coordinate.Coordinate{}
	for _, c := range s.cfg.Operator.Coordinates() {
		coords[c.Node] = c.Coord
	}
	from := coords[near]
	if from == nil {
		return list
	}
	distance := func(item T) float64 {
		c := coords[node(item)]
		if c == nil || !from.IsCompatibleWith(c) {
			return math.Inf(1)
		}
		return from.DistanceTo(c).Seconds()
	}
	out := slices.Clone(list)
	sort.SliceStable(out, func(i, j int) bool { return distance(out[i]) < distance(out[j]) })
	return out
}

// writeNearJSON is writeCachedJSON for reads that take ?near: a sorted
// answer depends on coordinates, which move without the index moving, so
// it is built afresh.
func (s *Server) writeNearJSON(w http.ResponseWriter, r *http.Request, index uint64, build func() (any, error)) error {
	if queryOf(r).Get("near") == "" {
		return s.writeCachedJSON(w, r, index, build)
	}
	v, err := build()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
