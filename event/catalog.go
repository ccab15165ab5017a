package event

// Catalog event types.
const (
	// NodeUpdated: a node was registered or changed. Node holds it.
	NodeUpdated Type = "catalog.node.updated"
	// NodeDeleted: a node was deregistered, with its services and checks
	// (each of which also gets its own deleted event first).
	NodeDeleted Type = "catalog.node.deleted"
	// ServiceUpdated: a service instance was registered or changed.
	ServiceUpdated Type = "catalog.service.updated"
	// ServiceDeleted: a service instance was deregistered.
	ServiceDeleted Type = "catalog.service.deleted"
	// CheckUpdated: a check was registered, changed, or changed status.
	CheckUpdated Type = "catalog.check.updated"
	// CheckDeleted: a check was deregistered.
	CheckDeleted Type = "catalog.check.deleted"
)

// Node is a catalog node in Consul's api.Node JSON shape.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	Locality        *Locality `json:",omitempty"`
	CreateIndex     uint64
	ModifyIndex     uint64
}

// Locality is where a node or service instance runs, Consul's
// {Region, Zone}.
type Locality struct {
	Region string
	Zone   string
}

// ServicePort is one of a service instance's named ports (Consul's
// multi-port Ports); one of them is the Default.
type ServicePort struct {
	Name    string
	Port    int
	Default bool
}

// ServiceAddress is an address and port of a tagged service address.
type ServiceAddress struct {
	Address string
	Port    int
}

// Weights are a service instance's DNS SRV weights by health.
type Weights struct {
	Passing int
	Warning int
}

// Service is a service instance on a node, in the shape of Consul's
// api.AgentService plus the node it runs on.
type Service struct {
	// Node is the name of the node the instance runs on (not a field of
	// Consul's AgentService; clients ignore it).
	Node              string `json:",omitempty"`
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Ports             []ServicePort `json:",omitempty"`
	Address           string
	SocketPath        string                    `json:",omitempty"`
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Weights           Weights
	EnableTagOverride bool
	Locality          *Locality `json:",omitempty"`
	// Proxy is the configuration of a proxy or gateway (mesh.go); nil
	// for a typical service.
	Proxy *ServiceProxy `json:",omitempty"`
	// Connect holds Connect.Native; nil when not native.
	Connect     *ServiceConnect `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// Health states of a check, as Consul spells them. The rules that read
// them (aggregation, instance health, sessions) are package health's.
const (
	HealthPassing  = "passing"
	HealthWarning  = "warning"
	HealthCritical = "critical"
	HealthMaint    = "maintenance"
)

// CheckDefinition is how a check runs, in the shape of Consul's
// api.HealthCheckDefinition. Durations are Go duration strings.
type CheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
}

// Check is a health check in Consul's api.HealthCheck JSON shape.
type Check struct {
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
	Definition  CheckDefinition
	CreateIndex uint64
	ModifyIndex uint64
}
