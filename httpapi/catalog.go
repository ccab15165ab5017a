package httpapi

import (
	"encoding/json"
	"github.com/heraldhq/herald/acl"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// proposeCatalog writes a catalog command; a refusal is a 400 with the
// state machine's message, as Consul answers it.
func (s *Server) proposeCatalog(r *http.Request, body command.Body) error {
	_, err := s.propose(r, command.Command{Body: body}, http.StatusBadRequest)
	return err
}

// decodeBody reads a JSON request body into v; malformed JSON is a 400.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return badRequest("Failed to read body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return badRequest("Request decode failed: empty body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}

// registerRequest is the body of /v1/catalog/register.
type registerRequest struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string
	Service         *catalogService
	Locality        *event.Locality
	Check           *catalogCheck
	Checks          []catalogCheck
	SkipNodeUpdate  bool
}

// catalogService is a service as /v1/catalog/register and /v1/txn's
// Service ops take it (Consul's AgentService).
type catalogService struct {
	Kind              string
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]event.ServiceAddress
	Meta              map[string]string
	Port              int
	Ports             []event.ServicePort
	SocketPath        string
	Weights           *event.Weights
	EnableTagOverride bool
	Locality          *event.Locality
	Proxy             *event.ServiceProxy
	Connect           *catalogConnect
}

// catalogConnect is a registration's Connect block; a SidecarService in it
// is the agent's business, which the catalog ignores, as Consul's does.
type catalogConnect struct {
	Native bool
}

// record is the catalog record; weights default to 1 and 1, as in Consul.
func (sv *catalogService) record() event.Service {
	weights := event.Weights{Passing: 1, Warning: 1}
	if sv.Weights != nil {
		weights = *sv.Weights
	}
	return event.Service{Kind: sv.Kind, ID: sv.ID, Service: sv.Service, Tags: sv.Tags, Address: sv.Address,
		TaggedAddresses: sv.TaggedAddresses, Meta: sv.Meta, Port: sv.Port, Ports: sv.Ports, SocketPath: sv.SocketPath,
		Weights: weights, EnableTagOverride: sv.EnableTagOverride, Locality: sv.Locality,
		Proxy: event.KeptProxy(sv.Kind, sv.Proxy), Connect: event.KeptConnect(sv.Connect != nil && sv.Connect.Native)}
}

type catalogCheck struct {
	Node       string
	CheckID    string
	Name       string
	Status     string
	Notes      string
	Output     string
	ServiceID  string
	Definition event.CheckDefinition
}

func (c catalogCheck) record() event.Check {
	return event.Check{Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes,
		Output: c.Output, ServiceID: c.ServiceID, Definition: c.Definition}
}

func validStatus(s string) bool {
	switch s {
	case "", event.HealthPassing, event.HealthWarning, event.HealthCritical:
		return true
	}
	return false
}

func (s *Server) catalogRegister(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	var req registerRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Node == "" {
		return badRequest("Must provide node")
	}
	if req.Address == "" && !req.SkipNodeUpdate {
		return badRequest("Must provide address if SkipNodeUpdate is not set")
	}
	body := &command.CatalogRegisterBody{
		Node: event.Node{ID: req.ID, Node: req.Node, Address: req.Address, Datacenter: s.cfg.Datacenter,
			TaggedAddresses: req.TaggedAddresses, Meta: req.NodeMeta, Locality: req.Locality},
		SkipNodeUpdate: req.SkipNodeUpdate,
	}
	if sv := req.Service; sv != nil {
		if sv.Service == "" {
			return badRequest("Must provide service name with ID")
		}
		rec := sv.record()
		body.Service = &rec
	}
	checks := req.Checks
	if req.Check != nil {
		checks = append([]catalogCheck{*req.Check}, checks...)
	}
	for _, c := range checks {
		if !validStatus(c.Status) {
			return badRequest("Invalid check status %q", c.Status)
		}
		rec := c.record()
		if rec.CheckID == "" {
			rec.CheckID = rec.Name
		}
		body.Checks = append(body.Checks, rec)
	}
	if err := s.proposeCatalog(r, body); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, true)
}

func (s *Server) catalogDeregister(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	var req struct{ Node, ServiceID, CheckID, Datacenter string }
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Node == "" {
		return badRequest("Must provide node")
	}
	if err := s.proposeCatalog(r, &command.CatalogDeregisterBody{Node: req.Node, ServiceID: req.ServiceID, CheckID: req.CheckID}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, true)
}

func (s *Server) catalogDatacenters(w http.ResponseWriter, r *http.Request) error {
	dcs, err := s.datacenters(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dcs)
}

// readCatalog runs the common part of a catalog read: query options,
// consistency, blocking, headers.
func readCatalog[T any](s *Server, w http.ResponseWriter, r *http.Request, read func(watch bool) (T, uint64, <-chan struct{})) (T, bool, error) {
	v, _, ok, err := readCatalogIndex(s, w, r, read)
	return v, ok, err
}

// readCatalogIndex is readCatalog that also returns the answer's index.
func readCatalogIndex[T any](s *Server, w http.ResponseWriter, r *http.Request, read func(watch bool) (T, uint64, <-chan struct{})) (T, uint64, bool, error) {
	var zero T
	q, err := s.parseQuery(r)
	if err != nil {
		return zero, 0, false, err
	}
	if err := s.prepareRead(r, q, command.ShardCatalog); err != nil {
		return zero, 0, false, err
	}
	v, index := blocking(r.Context(), q, read)
	s.setMeta(w, q, command.ShardCatalog, index)
	return v, index, true, nil
}

func (s *Server) catalogNodes(w http.ResponseWriter, r *http.Request) error {
	nodes, ok, err := readCatalog(s, w, r, s.cfg.Catalog.Nodes)
	if !ok {
		return err
	}
	nodes = aclFilter(w, r, nodes, canReadNode)
	meta := nodeMetaFilter(r)
	out := make([]apiNode, 0, len(nodes))
	for _, n := range sortNear(s, r, nodes, func(n *event.Node) string { return n.Node }) {
		if metaMatches(n.Meta, meta) {
			out = append(out, toNode(n))
		}
	}
	return writeFiltered(w, r, out)
}

func (s *Server) catalogServices(w http.ResponseWriter, r *http.Request) error {
	meta := nodeMetaFilter(r)
	// ?filter selects instances in the shape of /v1/catalog/service (Consul
	// filters its ServiceNodes); a service is listed when one is kept.
	eval, err := newFilter(r)
	if err != nil {
		return err
	}
	var evalErr error
	services, index, ok, err := readCatalogIndex(s, w, r, func(watch bool) (map[string][]string, uint64, <-chan struct{}) {
		all, index, ch := s.cfg.Catalog.Services(watch)
		if meta == nil && eval == nil {
			return all, index, ch
		}
		out := map[string][]string{}
		for name := range all {
			instances, _, _ := s.cfg.Catalog.ServiceInstances(name, false)
			tags := map[string]bool{}
			found := false
			for _, in := range instances {
				if meta != nil && !metaMatches(in.Node.Meta, meta) {
					continue
				}
				if eval != nil {
					kept, err := keep(eval, toCatalogService(in))
					if err != nil {
						evalErr = err
					}
					if !kept {
						continue
					}
				}
				found = true
				for _, t := range in.Service.Tags {
					tags[t] = true
				}
			}
			if found {
				list := []string{}
				for t := range tags {
					list = append(list, t)
				}
				sort.Strings(list)
				out[name] = list
			}
		}
		return out, index, ch
	})
	if !ok {
		return err
	}
	if evalErr != nil {
		return evalErr
	}
	services = aclFilterMap(w, r, services, func(a acl.Authorizer, name string, _ []string) bool {
		return a.Allowed(acl.ResourceService, name, acl.Read)
	})
	return s.writeCachedJSON(w, r, index, func() (any, error) { return services, nil })
}

// instancesAt reads the instances of the service named by the request path
// after prefix, with ?tag and ?node-meta applied.
func (s *Server) instancesAt(w http.ResponseWriter, r *http.Request, prefix string) ([]projections.Instance, uint64, bool, error) {
	return s.instancesOf(w, r, prefix, s.cfg.Catalog.ServiceInstances)
}

// instancesOf reads the instances that lookup gives for the service named
// by the request path after prefix, with ?tag and ?node-meta applied.
func (s *Server) instancesOf(w http.ResponseWriter, r *http.Request, prefix string,
	lookup func(name string, watch bool) ([]projections.Instance, uint64, <-chan struct{})) ([]projections.Instance, uint64, bool, error) {
	name := strings.TrimPrefix(r.URL.Path, prefix)
	if name == "" {
		return nil, 0, false, badRequest("Missing service name")
	}
	tags := queryOf(r)["tag"]
	meta := nodeMetaFilter(r)
	return readCatalogIndex(s, w, r, func(watch bool) ([]projections.Instance, uint64, <-chan struct{}) {
		all, index, ch := lookup(name, watch)
		if len(tags) == 0 && meta == nil {
			return all, index, ch
		}
		out := all[:0:0]
		for _, in := range all {
			if hasTags(in.Service.Tags, tags) && metaMatches(in.Node.Meta, meta) {
				out = append(out, in)
			}
		}
		return out, index, ch
	})
}

func (s *Server) catalogService(w http.ResponseWriter, r *http.Request) error {
	instances, index, ok, err := s.instancesAt(w, r, "/v1/catalog/service/")
	if !ok {
		return err
	}
	return s.writeCatalogInstances(w, r, instances, index)
}

// writeCatalogInstances answers instances in /v1/catalog/service's shape.
func (s *Server) writeCatalogInstances(w http.ResponseWriter, r *http.Request, instances []projections.Instance, index uint64) error {
	instances = aclFilter(w, r, instances, canReadInstance)
	instances = sortNear(s, r, instances, func(in projections.Instance) string { return in.Node.Node })
	return s.writeNearJSON(w, r, index, func() (any, error) {
		out := make([]apiCatalogService, len(instances))
		for i, in := range instances {
			out[i] = toCatalogService(in)
		}
		return filterList(r, out)
	})
}

// readNodeAt reads the node named by the request path after prefix, as
// readCatalog does.
func (s *Server) readNodeAt(w http.ResponseWriter, r *http.Request, prefix string) (*projections.NodeInfo, bool, error) {
	name := strings.TrimPrefix(r.URL.Path, prefix)
	if name == "" {
		return nil, false, badRequest("Missing node name")
	}
	info, ok, err := readCatalog(s, w, r, func(watch bool) (*projections.NodeInfo, uint64, <-chan struct{}) {
		return s.cfg.Catalog.Node(name, watch)
	})
	return aclFilterNode(w, r, info), ok, err
}

func (s *Server) catalogNode(w http.ResponseWriter, r *http.Request) error {
	info, ok, err := s.readNodeAt(w, r, "/v1/catalog/node/")
	if !ok {
		return err
	}
	if info == nil {
		return writeJSON(w, http.StatusOK, nil)
	}
	services := map[string]apiService{}
	for _, sv := range info.Services {
		services[sv.ID] = toService(sv, "")
	}
	if services, err = filterMap(r, services); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"Node": toNode(info.Node), "Services": services})
}

func (s *Server) catalogNodeServices(w http.ResponseWriter, r *http.Request) error {
	info, ok, err := s.readNodeAt(w, r, "/v1/catalog/node-services/")
	if !ok {
		return err
	}
	if info == nil {
		return writeJSON(w, http.StatusOK, nil)
	}
	services := make([]apiService, len(info.Services))
	for i, sv := range info.Services {
		services[i] = toService(sv, "")
	}
	if services, err = filterList(r, services); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"Node": toNode(info.Node), "Services": services})
}
