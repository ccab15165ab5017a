package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/checks"
	"github.com/heraldhq/herald/event"
)

// ServiceDefinition is a service as an agent registers it: Consul's
// AgentServiceRegistration, from the API or a config file.
type ServiceDefinition struct {
	Kind              string
	ID                string
	Name              string
	Tags              []string
	Port              int
	Ports             []event.ServicePort
	Address           string
	SocketPath        string
	TaggedAddresses   map[string]event.ServiceAddress
	EnableTagOverride bool
	Meta              map[string]string
	Weights           *event.Weights
	Locality          *event.Locality
	// Proxy is a proxy's or gateway's configuration; Connect the
	// service's Connect block (sidecar.go).
	Proxy   *event.ServiceProxy
	Connect *ConnectDefinition
	Check   *CheckDefinition
	Checks  []CheckDefinition
	// Token is the ACL token the service was registered with: the agent
	// keeps it in the catalog with it (anti-entropy), as Consul does, and
	// gives it to the service's checks that have none.
	Token string `json:"-"`
}

// CheckDefinition is a check as an agent registers it: Consul's
// AgentCheckRegistration (or a service's AgentServiceCheck).
type CheckDefinition struct {
	// Token is the ACL token the check was registered with (see
	// ServiceDefinition.Token).
	Token                          string `json:"-"`
	ID                             string
	Name                           string
	Notes                          string
	ServiceID                      string
	Status                         string
	HTTP                           string
	Header                         map[string][]string
	Method                         string
	Body                           string
	DisableRedirects               bool
	TLSServerName                  string
	TLSSkipVerify                  bool
	TCP                            string
	UDP                            string
	GRPC                           string
	GRPCUseTLS                     bool
	H2Ping                         string
	H2PingUseTLS                   bool
	TTL                            Duration
	AliasNode                      string
	AliasService                   string
	Args                           []string
	DockerContainerID              string
	Shell                          string
	Interval                       Duration
	Timeout                        Duration
	DeregisterCriticalServiceAfter Duration
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
}

// Duration decodes Consul's durations: a Go duration string ("10s") or a
// number of nanoseconds.
type Duration time.Duration

// UnmarshalJSON accepts "10s", "", and numbers.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*d = 0
	case float64:
		*d = Duration(v)
	case string:
		if v == "" {
			*d = 0
			return nil
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			*d = Duration(n)
			return nil
		}
		p, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q", v)
		}
		*d = Duration(p)
	default:
		return fmt.Errorf("invalid duration %v", v)
	}
	return nil
}

// String is the Go duration, "" for zero (as Consul's JSON leaves it out).
func (d Duration) String() string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

// aliases map the spellings Consul accepts to one field name each, after
// keys were lower-cased and stripped of underscores and dashes.
var aliases = map[string]string{
	"checkid":    "id",
	"scriptargs": "args",
}

// userMaps are the keys whose values are user data: their keys are kept
// as written, at every depth (a proxy's Config is free-form).
var userMaps = map[string]bool{"meta": true, "header": true, "taggedaddresses": true, "nodemeta": true,
	"config": true, "arguments": true}

// singleObjects are the keys that hold one object. HCL writes a block as a
// list of one object (`connect { sidecar_service {} }`); for these keys
// such a list is the object.
var singleObjects = map[string]bool{"connect": true, "sidecarservice": true, "proxy": true, "meshgateway": true,
	"expose": true, "transparentproxy": true, "accesslogs": true, "config": true, "check": true, "weights": true,
	"locality": true, "meta": true, "taggedaddresses": true, "arguments": true}

// normalize rewrites a decoded JSON/HCL document so that Go's JSON decoder
// matches its keys to the definitions' fields whatever the spelling:
// "DeregisterCriticalServiceAfter", "deregister_critical_service_after" and
// "deregistercriticalserviceafter" all become the last. Values under Meta,
// Header and TaggedAddresses keep their keys: they are user data.
func normalize(v any, inUserMap bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, val := range v {
			key := k
			if !inUserMap {
				key = strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
				if a, ok := aliases[key]; ok {
					key = a
				}
			}
			if list, ok := val.([]any); ok && len(list) == 1 && !inUserMap && singleObjects[key] {
				if m, ok := list[0].(map[string]any); ok {
					val = m
				}
			}
			user := inUserMap || userMaps[key]
			out[key] = normalize(val, user)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e, inUserMap)
		}
		return out
	}
	return v
}

// decodeInto decodes a generic document into one of the definitions.
func decodeInto(raw any, out any) error {
	b, err := json.Marshal(normalize(raw, false))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// DecodeService reads a service definition from a decoded JSON or HCL
// document in any of Consul's spellings.
func DecodeService(raw any) (*ServiceDefinition, error) {
	var d serviceJSON
	if err := decodeInto(raw, &d); err != nil {
		return nil, fmt.Errorf("Request decode failed: %v", err)
	}
	return d.definition(), nil
}

// DecodeCheck reads a check definition likewise.
func DecodeCheck(raw any) (*CheckDefinition, error) {
	var d checkJSON
	if err := decodeInto(raw, &d); err != nil {
		return nil, fmt.Errorf("Request decode failed: %v", err)
	}
	c := d.definition()
	return &c, nil
}

// serviceJSON and checkJSON carry the normalized field names.
type serviceJSON struct {
	Kind  string   `json:"kind"`
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Tags  []string `json:"tags"`
	Port  int      `json:"port"`
	Ports []struct {
		Name    string `json:"name"`
		Port    int    `json:"port"`
		Default bool   `json:"default"`
	} `json:"ports"`
	Address           string                          `json:"address"`
	SocketPath        string                          `json:"socketpath"`
	TaggedAddresses   map[string]event.ServiceAddress `json:"taggedaddresses"`
	EnableTagOverride bool                            `json:"enabletagoverride"`
	Meta              map[string]string               `json:"meta"`
	Weights           *struct {
		Passing int `json:"passing"`
		Warning int `json:"warning"`
	} `json:"weights"`
	Locality *struct {
		Region string `json:"region"`
		Zone   string `json:"zone"`
	} `json:"locality"`
	Proxy   *event.ServiceProxy `json:"proxy"`
	Connect *struct {
		Native         bool         `json:"native"`
		SidecarService *serviceJSON `json:"sidecarservice"`
	} `json:"connect"`
	Check  *checkJSON  `json:"check"`
	Checks []checkJSON `json:"checks"`
}

type checkJSON struct {
	ID                             string              `json:"id"`
	Name                           string              `json:"name"`
	Notes                          string              `json:"notes"`
	ServiceID                      string              `json:"serviceid"`
	Status                         string              `json:"status"`
	HTTP                           string              `json:"http"`
	Header                         map[string][]string `json:"header"`
	Method                         string              `json:"method"`
	Body                           string              `json:"body"`
	DisableRedirects               bool                `json:"disableredirects"`
	TLSServerName                  string              `json:"tlsservername"`
	TLSSkipVerify                  bool                `json:"tlsskipverify"`
	TCP                            string              `json:"tcp"`
	UDP                            string              `json:"udp"`
	GRPC                           string              `json:"grpc"`
	GRPCUseTLS                     bool                `json:"grpcusetls"`
	H2Ping                         string              `json:"h2ping"`
	H2PingUseTLS                   *bool               `json:"h2pingusetls"` // Consul's default is true
	TTL                            Duration            `json:"ttl"`
	AliasNode                      string              `json:"aliasnode"`
	AliasService                   string              `json:"aliasservice"`
	Args                           []string            `json:"args"`
	DockerContainerID              string              `json:"dockercontainerid"`
	Shell                          string              `json:"shell"`
	Interval                       Duration            `json:"interval"`
	Timeout                        Duration            `json:"timeout"`
	DeregisterCriticalServiceAfter Duration            `json:"deregistercriticalserviceafter"`
	SuccessBeforePassing           int                 `json:"successbeforepassing"`
	FailuresBeforeWarning          int                 `json:"failuresbeforewarning"`
	FailuresBeforeCritical         int                 `json:"failuresbeforecritical"`
}

func (d *serviceJSON) definition() *ServiceDefinition {
	s := &ServiceDefinition{Kind: d.Kind, ID: d.ID, Name: d.Name, Tags: d.Tags, Port: d.Port, Address: d.Address,
		TaggedAddresses: d.TaggedAddresses, EnableTagOverride: d.EnableTagOverride, Meta: d.Meta,
		SocketPath: d.SocketPath}
	for _, p := range d.Ports {
		s.Ports = append(s.Ports, event.ServicePort{Name: p.Name, Port: p.Port, Default: p.Default})
	}
	if d.Locality != nil {
		s.Locality = &event.Locality{Region: d.Locality.Region, Zone: d.Locality.Zone}
	}
	if d.Weights != nil {
		s.Weights = &event.Weights{Passing: d.Weights.Passing, Warning: d.Weights.Warning}
	}
	if d.Check != nil {
		c := d.Check.definition()
		s.Check = &c
	}
	for _, c := range d.Checks {
		s.Checks = append(s.Checks, c.definition())
	}
	s.Proxy = d.Proxy
	if d.Connect != nil {
		s.Connect = &ConnectDefinition{Native: d.Connect.Native}
		if d.Connect.SidecarService != nil {
			s.Connect.SidecarService = d.Connect.SidecarService.definition()
		}
	}
	return s
}

func (d *checkJSON) definition() CheckDefinition {
	useTLS := d.H2PingUseTLS == nil || *d.H2PingUseTLS
	return CheckDefinition{ID: d.ID, Name: d.Name, Notes: d.Notes, ServiceID: d.ServiceID, Status: d.Status,
		HTTP: d.HTTP, Header: d.Header, Method: d.Method, Body: d.Body, DisableRedirects: d.DisableRedirects,
		TLSServerName: d.TLSServerName, TLSSkipVerify: d.TLSSkipVerify, TCP: d.TCP, UDP: d.UDP, GRPC: d.GRPC,
		GRPCUseTLS: d.GRPCUseTLS, H2Ping: d.H2Ping, H2PingUseTLS: useTLS, TTL: d.TTL, AliasNode: d.AliasNode,
		AliasService: d.AliasService, Args: d.Args, DockerContainerID: d.DockerContainerID, Shell: d.Shell,
		Interval: d.Interval, Timeout: d.Timeout,
		DeregisterCriticalServiceAfter: d.DeregisterCriticalServiceAfter, SuccessBeforePassing: d.SuccessBeforePassing,
		FailuresBeforeWarning: d.FailuresBeforeWarning, FailuresBeforeCritical: d.FailuresBeforeCritical}
}

// Validate checks a service definition the way Consul's agent endpoint does.
func (s *ServiceDefinition) Validate() error {
	if s.Name == "" {
		return errors.New("Missing service name")
	}
	if s.Port < 0 || s.Port > 65535 {
		return fmt.Errorf("Invalid port %d", s.Port)
	}
	if err := s.validateMesh(); err != nil {
		return err
	}
	for _, c := range s.allChecks() {
		if err := c.validate(true); err != nil {
			return fmt.Errorf("Invalid check: %v", err)
		}
	}
	return nil
}

// allChecks is Check and Checks together.
func (s *ServiceDefinition) allChecks() []CheckDefinition {
	out := append([]CheckDefinition(nil), s.Checks...)
	if s.Check != nil {
		out = append([]CheckDefinition{*s.Check}, out...)
	}
	return out
}

// runnerDefinition is what the check runner needs of a check.
func (c *CheckDefinition) runnerDefinition() checks.Definition {
	return checks.Definition{
		CheckID: c.ID, Name: c.Name, ServiceID: c.ServiceID,
		HTTP: c.HTTP, Method: c.Method, Header: c.Header, Body: c.Body,
		TLSSkipVerify: c.TLSSkipVerify, TLSServerName: c.TLSServerName, DisableRedirects: c.DisableRedirects,
		TCP: c.TCP, UDP: c.UDP, GRPC: c.GRPC, GRPCUseTLS: c.GRPCUseTLS,
		H2Ping: c.H2Ping, H2PingUseTLS: c.H2PingUseTLS,
		TTL: time.Duration(c.TTL), AliasNode: c.AliasNode, AliasService: c.AliasService, Args: c.Args,
		DockerContainerID: c.DockerContainerID, Shell: c.Shell,
		Interval: time.Duration(c.Interval), Timeout: time.Duration(c.Timeout),
		SuccessBeforePassing: c.SuccessBeforePassing, FailuresBeforeWarning: c.FailuresBeforeWarning,
		FailuresBeforeCritical:         c.FailuresBeforeCritical,
		DeregisterCriticalServiceAfter: time.Duration(c.DeregisterCriticalServiceAfter),
		Status:                         c.Status,
	}
}

// isRunnable reports whether the check has something for a runner to do;
// a check with none (only a name and status) is one whose status clients
// set themselves, as Consul allows for catalog-style checks.
func (c *CheckDefinition) isRunnable() bool {
	return c.HTTP != "" || c.TCP != "" || c.UDP != "" || c.GRPC != "" || c.H2Ping != "" ||
		c.TTL > 0 || c.AliasService != "" || c.AliasNode != "" || len(c.Args) > 0
}

func (c *CheckDefinition) validate(inService bool) error {
	if !inService && c.Name == "" {
		return errors.New("Missing check name")
	}
	if !c.isRunnable() {
		return errors.New("Must provide TTL or Interval (with one of HTTP, TCP, UDP, GRPC, H2PING, Args) or an alias")
	}
	d := c.runnerDefinition()
	if d.CheckID == "" {
		d.CheckID = "check" // Validate looks at the kind, not the ID
	}
	return d.Validate()
}
