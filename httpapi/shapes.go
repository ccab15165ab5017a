package httpapi

import (
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// The JSON shapes of Consul's catalog and health endpoints. Field names are
// Consul's, and ?filter expressions select on them. Empty lists and maps
// are [] and {}, never null, as Consul writes them.

type apiNode struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	Locality        *event.Locality `json:",omitempty"`
	CreateIndex     uint64
	ModifyIndex     uint64
}

type apiService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]event.ServiceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int
	Ports             []event.ServicePort `json:",omitempty" bexpr:"-"`
	SocketPath        string              `json:",omitempty"`
	Weights           event.Weights
	EnableTagOverride bool
	Datacenter        string          `json:",omitempty"`
	Locality          *event.Locality `json:",omitempty" bexpr:"-"`
	// Proxy and Connect: the catalog's and health's answers always have
	// them (Consul's NodeService), empty for a typical service; the
	// agent's leave them out where Consul's agent does (toAgentService).
	Proxy       *event.ServiceProxy   `json:",omitempty"`
	Connect     *event.ServiceConnect `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

type apiCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	Definition  event.CheckDefinition
	CreateIndex uint64
	ModifyIndex uint64
}

// apiCatalogService is an element of /v1/catalog/service/:name.
type apiCatalogService struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]event.ServiceAddress `json:",omitempty"`
	ServiceWeights           event.Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceSocketPath        string
	ServiceEnableTagOverride bool
	ServiceLocality          *event.Locality `bexpr:"-"`
	ServiceProxy             event.ServiceProxy
	ServiceConnect           event.ServiceConnect
	CreateIndex              uint64
	ModifyIndex              uint64
}

// apiServiceEntry is an element of /v1/health/service/:name.
type apiServiceEntry struct {
	Node    apiNode
	Service apiService
	Checks  []apiCheck
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func strMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func toNode(n *event.Node) apiNode {
	return apiNode{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
		TaggedAddresses: strMap(n.TaggedAddresses), Meta: strMap(n.Meta), Locality: n.Locality,
		CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex}
}

func toService(s *event.Service, dc string) apiService {
	return apiService{Kind: s.Kind, ID: s.ID, Service: s.Service, Tags: strs(s.Tags), Address: s.Address,
		TaggedAddresses: s.TaggedAddresses, Meta: strMap(s.Meta), Port: s.Port, Ports: s.Ports,
		SocketPath: s.SocketPath, Weights: s.Weights, EnableTagOverride: s.EnableTagOverride, Datacenter: dc,
		Locality: s.Locality, Proxy: proxyOrEmpty(s), Connect: connectOrEmpty(s),
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex}
}

// toAgentService is a service as the agent's endpoints show it: Consul's
// agent gives Proxy to proxies and gateways only, and Connect to native
// services only.
func toAgentService(s *event.Service, dc string) apiService {
	out := toService(s, dc)
	if !event.IsMeshKind(s.Kind) {
		out.Proxy = nil
	}
	if s.Connect == nil || !s.Connect.Native {
		out.Connect = nil
	}
	return out
}

// proxyOrEmpty and connectOrEmpty are the service's blocks, or empty ones
// where it has none, as Consul's catalog answers.
func proxyOrEmpty(s *event.Service) *event.ServiceProxy {
	if s.Proxy != nil {
		return s.Proxy
	}
	return &event.ServiceProxy{}
}

func connectOrEmpty(s *event.Service) *event.ServiceConnect {
	if s.Connect != nil {
		return s.Connect
	}
	return &event.ServiceConnect{}
}

func toCheck(c *event.Check) apiCheck {
	d := c.Definition
	return apiCheck{Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes,
		Output: c.Output, ServiceID: c.ServiceID, ServiceName: c.ServiceName, ServiceTags: strs(c.ServiceTags),
		Type: c.Type, Interval: d.Interval, Timeout: d.Timeout,
		Definition: d, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex}
}

func toChecks(list []*event.Check) []apiCheck {
	out := make([]apiCheck, len(list))
	for i, c := range list {
		out[i] = toCheck(c)
	}
	return out
}

func toCatalogService(in projections.Instance) apiCatalogService {
	n, s := in.Node, in.Service
	return apiCatalogService{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
		TaggedAddresses: strMap(n.TaggedAddresses), NodeMeta: strMap(n.Meta), ServiceKind: s.Kind,
		ServiceID: s.ID, ServiceName: s.Service, ServiceTags: strs(s.Tags), ServiceAddress: s.Address,
		ServiceTaggedAddresses: s.TaggedAddresses, ServiceWeights: s.Weights, ServiceMeta: strMap(s.Meta),
		ServicePort: s.Port, ServiceSocketPath: s.SocketPath, ServiceEnableTagOverride: s.EnableTagOverride,
		ServiceLocality: s.Locality, ServiceProxy: *proxyOrEmpty(s), ServiceConnect: *connectOrEmpty(s),
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex}
}
