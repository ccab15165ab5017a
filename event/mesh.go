package event

// Service kinds, as Consul's api.ServiceKind spells them. The empty kind is
// a typical service.
const (
	KindConnectProxy       = "connect-proxy"
	KindMeshGateway        = "mesh-gateway"
	KindTerminatingGateway = "terminating-gateway"
	KindIngressGateway     = "ingress-gateway"
	KindAPIGateway         = "api-gateway"
)

// IsMeshKind reports whether kind is one of the service mesh's kinds (a
// proxy or a gateway), whose instances carry a Proxy block.
func IsMeshKind(kind string) bool {
	switch kind {
	case KindConnectProxy, KindMeshGateway, KindTerminatingGateway, KindIngressGateway, KindAPIGateway:
		return true
	}
	return false
}

// ServiceProxy is a proxy's or gateway's configuration, in the shape of
// Consul's api.AgentServiceConnectProxyConfig: field names and omissions as
// the official client decodes them.
type ServiceProxy struct {
	EnvoyExtensions        []EnvoyExtension  `json:",omitempty" bexpr:"-"`
	DestinationServiceName string            `json:",omitempty"`
	DestinationServiceID   string            `json:",omitempty"`
	LocalServiceAddress    string            `json:",omitempty"`
	LocalServicePort       int               `json:",omitempty"`
	LocalServicePorts      []ServicePort     `json:",omitempty" bexpr:"-"`
	LocalServiceSocketPath string            `json:",omitempty"`
	Mode                   string            `json:",omitempty"`
	TransparentProxy       *TransparentProxy `json:",omitempty"`
	Config                 map[string]any    `json:",omitempty" bexpr:"-"`
	Upstreams              []Upstream        `json:",omitempty"`
	MeshGateway            MeshGatewayConfig
	Expose                 ExposeConfig
	AccessLogs             *AccessLogs `json:",omitempty"`
}

// EnvoyExtension is one of a proxy's Envoy extensions (kept and shown;
// Herald serves no Envoy configuration).
type EnvoyExtension struct {
	Name          string
	Required      bool
	Arguments     map[string]any `bexpr:"-"`
	ConsulVersion string
	EnvoyVersion  string
}

// TransparentProxy is a proxy's transparent mode settings.
type TransparentProxy struct {
	OutboundListenerPort int  `json:",omitempty"`
	DialedDirectly       bool `json:",omitempty"`
}

// Upstream is a service a proxy lets its local service reach.
type Upstream struct {
	DestinationType      string `json:",omitempty"`
	DestinationPartition string `json:",omitempty"`
	DestinationNamespace string `json:",omitempty"`
	DestinationPeer      string `json:",omitempty"`
	DestinationName      string
	DestinationPort      string            `json:",omitempty"`
	Datacenter           string            `json:",omitempty"`
	LocalBindAddress     string            `json:",omitempty"`
	LocalBindPort        int               `json:",omitempty"`
	LocalBindSocketPath  string            `json:",omitempty"`
	LocalBindSocketMode  string            `json:",omitempty"`
	Config               map[string]any    `json:",omitempty" bexpr:"-"`
	MeshGateway          MeshGatewayConfig `json:",omitempty"`
	CentrallyConfigured  bool              `json:",omitempty" bexpr:"-"`
}

// MeshGatewayConfig is how a proxy reaches other datacenters.
type MeshGatewayConfig struct {
	Mode string `json:",omitempty"`
}

// ExposeConfig are the paths a proxy exposes without mutual TLS (health
// checks, metrics).
type ExposeConfig struct {
	Checks bool         `json:",omitempty"`
	Paths  []ExposePath `json:",omitempty"`
}

// ExposePath is one exposed HTTP path.
type ExposePath struct {
	ListenerPort    int    `json:",omitempty"`
	Path            string `json:",omitempty"`
	LocalPathPort   int    `json:",omitempty"`
	Protocol        string `json:",omitempty"`
	ParsedFromCheck bool
}

// AccessLogs configures a proxy's access logs.
type AccessLogs struct {
	Enabled             bool   `json:",omitempty"`
	DisableListenerLogs bool   `json:",omitempty"`
	Type                string `json:",omitempty"`
	Path                string `json:",omitempty"`
	JSONFormat          string `json:",omitempty"`
	TextFormat          string `json:",omitempty"`
}

// ServiceConnect is a service's Connect settings as the catalog keeps them:
// Native for a service that speaks mutual TLS itself. (A registration's
// SidecarService is turned into a service of its own by the agent and is
// not kept.)
type ServiceConnect struct {
	Native bool `json:",omitempty"`
}

// KeptProxy is the Proxy block the catalog keeps for a registration: none
// for a typical service that sent an empty one (clients such as Consul's
// own send the zero block with every registration), so that re-registering
// changes nothing and old records compare equal.
func KeptProxy(kind string, p *ServiceProxy) *ServiceProxy {
	if p == nil || (!IsMeshKind(kind) && p.isZero()) {
		return nil
	}
	return p
}

// KeptConnect is the Connect block the catalog keeps: one only for a
// native service.
func KeptConnect(native bool) *ServiceConnect {
	if !native {
		return nil
	}
	return &ServiceConnect{Native: true}
}

func (p *ServiceProxy) isZero() bool {
	return p.DestinationServiceName == "" && p.DestinationServiceID == "" && p.LocalServiceAddress == "" &&
		p.LocalServicePort == 0 && len(p.LocalServicePorts) == 0 && p.LocalServiceSocketPath == "" && p.Mode == "" &&
		p.TransparentProxy == nil && len(p.Config) == 0 && len(p.Upstreams) == 0 && p.MeshGateway.Mode == "" &&
		!p.Expose.Checks && len(p.Expose.Paths) == 0 && p.AccessLogs == nil && len(p.EnvoyExtensions) == 0
}
