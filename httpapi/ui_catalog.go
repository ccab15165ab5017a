package httpapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// The UI's summaries of the catalog, in the shapes of Consul's
// /v1/internal/ui/services and /v1/internal/ui/nodes.

// uiServiceSummary is Consul's ServiceListingSummary.
type uiServiceSummary struct {
	Kind                 string `json:",omitempty"`
	Name                 string
	Datacenter           string
	Tags                 []string
	Nodes                []string
	ExternalSources      []string
	InstanceCount        int
	ChecksPassing        int
	ChecksWarning        int
	ChecksCritical       int
	GatewayConfig        uiGatewayConfig
	TransparentProxy     bool
	ConnectNative        bool
	ConnectedWithProxy   bool
	ConnectedWithGateway bool
}

type uiGatewayConfig struct {
	AssociatedServiceCount int      `json:",omitempty"`
	Addresses              []string `json:",omitempty"`
}

// uiNode is an element of Consul's NodeDump: a node with its services and
// checks.
type uiNode struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	Locality        *event.Locality `json:",omitempty"`
	Services        []apiService
	Checks          []apiCheck
}

// metaExternalSource is the service meta key naming the system that
// registered it, which Consul's summaries list.
const metaExternalSource = "external-source"

// requestAuthorizer is the authorizer the request's rows are filtered
// with; nil when ACLs are off, and everything is visible.
func requestAuthorizer(r *http.Request) acl.Authorizer {
	if aclOf(r.Context()) == nil {
		return nil
	}
	return acl.IdentityFrom(r.Context()).Authorizer
}

// markFilteredIf says in the answer's headers that rows were left out.
func markFilteredIf(w http.ResponseWriter, r *http.Request, filtered bool) {
	if ra := aclOf(r.Context()); ra != nil && filtered {
		markFiltered(w, ra)
	}
}

func (s *Server) uiServices(w http.ResponseWriter, r *http.Request) error {
	index, ok, err := s.readCatalogChanges(w, r)
	if !ok {
		return err
	}
	if r.URL.Query().Has("filter") {
		list, filtered := s.summaries.serviceSummaries(s.cfg.Catalog, s.cfg.Datacenter, requestAuthorizer(r))
		markFilteredIf(w, r, filtered)
		return s.writeCachedJSON(w, r, index, func() (any, error) { return filterList(r, list) })
	}
	list, filtered, err := s.summaries.summariesJSON(s.cfg.Catalog, s.cfg.Datacenter, requestAuthorizer(r))
	if err != nil {
		return err
	}
	markFilteredIf(w, r, filtered)
	return s.writeCachedJSON(w, r, index, func() (any, error) { return list, nil })
}

func (s *Server) uiNodes(w http.ResponseWriter, r *http.Request) error {
	index, ok, err := s.readCatalogChanges(w, r)
	if !ok {
		return err
	}
	list, filtered := nodeDump(s.cfg.Catalog, requestAuthorizer(r))
	markFilteredIf(w, r, filtered)
	return s.writeCachedJSON(w, r, index, func() (any, error) { return filterList(r, list) })
}

// readCatalogChanges is readCatalog for an answer that changes with any
// change to the catalog: it blocks until there is one past ?index.
func (s *Server) readCatalogChanges(w http.ResponseWriter, r *http.Request) (uint64, bool, error) {
	_, index, ok, err := readCatalogIndex(s, w, r, func(watch bool) (struct{}, uint64, <-chan struct{}) {
		index, ch := s.cfg.Catalog.Changes(watch)
		return struct{}{}, index, ch
	})
	return index, ok, err
}

// summaryCache keeps each service's summary, and its JSON, with the index
// it was built at: a change to one service of 5,000 rebuilds one summary.
type summaryCache struct {
	mu     sync.Mutex
	byName map[string]cachedSummary
	// lastJSON is the length of the last summariesJSON, the next one's
	// first guess.
	lastJSON atomic.Int64
}

type cachedSummary struct {
	index uint64
	sum   uiServiceSummary
	raw   json.RawMessage
}

// serviceSummaries summarizes every service whose instances a may read
// (a nil a reads everything), sorted by name; filtered reports whether an
// instance was left out. Checks are counted once each, a node's check once
// for all the service's instances on that node, as Consul counts them.
func (sc *summaryCache) serviceSummaries(c *projections.Catalog, dc string, a acl.Authorizer) (out []uiServiceSummary, filtered bool) {
	filtered = sc.each(c, dc, a, func(sum *uiServiceSummary, _ json.RawMessage) error {
		out = append(out, *sum)
		return nil
	})
	if out == nil {
		out = []uiServiceSummary{}
	}
	return out, filtered
}

// serviceRows are the summaries as the stream's services topic sends them,
// by name, their JSON built once per change of a service.
func (sc *summaryCache) serviceRows(c *projections.Catalog, dc string, a acl.Authorizer) (rowSet, error) {
	set := rowSet{}
	var err error
	sc.each(c, dc, a, func(sum *uiServiceSummary, raw json.RawMessage) error {
		if raw == nil {
			if raw, err = json.Marshal(sum); err != nil {
				return err
			}
		}
		set[sum.Name] = raw
		return nil
	})
	return set, err
}

// summariesJSON is the JSON array of the summaries, joined from each
// service's JSON as kept: no summary is encoded again until it changes.
func (sc *summaryCache) summariesJSON(c *projections.Catalog, dc string, a acl.Authorizer) (json.RawMessage, bool, error) {
	out := append(make([]byte, 0, sc.lastJSON.Load()+2), '[')
	var err error
	filtered := sc.each(c, dc, a, func(sum *uiServiceSummary, raw json.RawMessage) error {
		if raw == nil {
			if raw, err = json.Marshal(sum); err != nil {
				return err
			}
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, raw...)
		return nil
	})
	sc.lastJSON.Store(int64(len(out)))
	return append(out, ']'), filtered, err
}

// each calls fn with every summary a may see, sorted by name, and with
// its JSON when that is kept; it reports whether instances were left out.
func (sc *summaryCache) each(c *projections.Catalog, dc string, a acl.Authorizer, fn func(*uiServiceSummary, json.RawMessage) error) (filtered bool) {
	names := c.ServiceNames()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.byName == nil {
		sc.byName = map[string]cachedSummary{}
	}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		instances, index, _ := c.ServiceInstances(name, false)
		seen[name] = true
		hit, ok := sc.byName[name]
		if !ok || hit.index != index {
			hit = cachedSummary{index: index}
			hit.sum, _ = summarizeService(name, dc, instances, nil)
			hit.raw, _ = json.Marshal(hit.sum) // nil on failure: built again when needed
			sc.byName[name] = hit
		}
		sum, raw := hit.sum, hit.raw
		if a != nil && !allVisible(a, instances) {
			sum, _ = summarizeService(name, dc, instances, a)
			raw, filtered = nil, true
		}
		if sum.InstanceCount == 0 {
			continue
		}
		if fn(&sum, raw) != nil {
			return filtered
		}
	}
	if len(sc.byName) > len(names) {
		for name := range sc.byName {
			if !seen[name] {
				delete(sc.byName, name)
			}
		}
	}
	return filtered
}

func allVisible(a acl.Authorizer, instances []projections.Instance) bool {
	for _, in := range instances {
		if !canReadInstance(a, in) {
			return false
		}
	}
	return true
}

func summarizeService(name, dc string, instances []projections.Instance, a acl.Authorizer) (uiServiceSummary, bool) {
	sum := uiServiceSummary{Name: name, Datacenter: dc, Tags: []string{}, Nodes: []string{}, ExternalSources: []string{}}
	filtered := false
	tags := map[string]bool{}
	nodes := map[string]bool{}
	sources := map[string]bool{}
	counted := map[[2]string]bool{}
	for _, in := range instances {
		if a != nil && !canReadInstance(a, in) {
			filtered = true
			continue
		}
		sum.InstanceCount++
		if sum.Kind == "" {
			sum.Kind = in.Service.Kind
		}
		for _, t := range in.Service.Tags {
			if !tags[t] {
				tags[t] = true
				sum.Tags = append(sum.Tags, t)
			}
		}
		if !nodes[in.Node.Node] {
			nodes[in.Node.Node] = true
			sum.Nodes = append(sum.Nodes, in.Node.Node)
		}
		if src := in.Service.Meta[metaExternalSource]; src != "" && !sources[src] {
			sources[src] = true
			sum.ExternalSources = append(sum.ExternalSources, src)
		}
		for _, ch := range in.Checks {
			id := [2]string{ch.Node, ch.CheckID}
			if counted[id] {
				continue
			}
			counted[id] = true
			switch ch.Status {
			case event.HealthPassing:
				sum.ChecksPassing++
			case event.HealthWarning:
				sum.ChecksWarning++
			case event.HealthCritical:
				sum.ChecksCritical++
			}
		}
	}
	sort.Strings(sum.Tags)
	sort.Strings(sum.Nodes)
	sort.Strings(sum.ExternalSources)
	return sum, filtered
}

// nodeDump is every node a may read with the services and checks on it
// that a may read (a nil a reads everything), sorted by name.
func nodeDump(c *projections.Catalog, a acl.Authorizer) (out []uiNode, filtered bool) {
	nodes, _, _ := c.Nodes(false)
	out = make([]uiNode, 0, len(nodes))
	for _, n := range nodes {
		if a != nil && !canReadNode(a, n) {
			filtered = true
			continue
		}
		info, _, _ := c.Node(n.Node, false)
		if info == nil {
			continue // deleted between the two reads
		}
		row, left := toUINode(info, a)
		filtered = filtered || left
		out = append(out, row)
	}
	return out, filtered
}

// toUINode is a node's row with what a may read of it.
func toUINode(info *projections.NodeInfo, a acl.Authorizer) (uiNode, bool) {
	n := info.Node
	row := uiNode{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
		TaggedAddresses: strMap(n.TaggedAddresses), Meta: strMap(n.Meta), Locality: n.Locality,
		Services: make([]apiService, 0, len(info.Services)), Checks: make([]apiCheck, 0, len(info.Checks))}
	filtered := false
	for _, sv := range info.Services {
		if a != nil && !a.Allowed(acl.ResourceService, sv.Service, acl.Read) {
			filtered = true
			continue
		}
		row.Services = append(row.Services, toService(sv, ""))
	}
	for _, ch := range info.Checks {
		if a != nil && !canReadCheck(a, ch) {
			filtered = true
			continue
		}
		row.Checks = append(row.Checks, toCheck(ch))
	}
	return row, filtered
}
