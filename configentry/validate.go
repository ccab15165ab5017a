package configentry

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"

	"github.com/hashicorp/consul/api"
)

// wildcard is Consul's name for "every service".
const wildcard = "*"

// Normalize applies what Consul's server sets on every write of a kind:
// the kind itself, proxy-defaults' name "global", mesh's name "mesh", a
// lower-case protocol, and the intentions' source precedence and type.
func Normalize(e api.ConfigEntry) {
	switch x := e.(type) {
	case *api.ServiceConfigEntry:
		x.Kind = api.ServiceDefaults
		x.Protocol = strings.ToLower(x.Protocol)
	case *api.ProxyConfigEntry:
		x.Kind = api.ProxyDefaults
		if x.Name == "" {
			x.Name = api.ProxyConfigGlobal
		}
	case *api.ServiceIntentionsConfigEntry:
		x.Kind = api.ServiceIntentions
		for _, src := range x.Sources {
			if src == nil {
				continue
			}
			src.Type = api.IntentionSourceConsul
			src.Precedence = Precedence(src.Name, x.Name)
		}
	case *api.ServiceRouterConfigEntry:
		x.Kind = api.ServiceRouter
	case *api.ServiceSplitterConfigEntry:
		x.Kind = api.ServiceSplitter
	case *api.ServiceResolverConfigEntry:
		x.Kind = api.ServiceResolver
	case *api.IngressGatewayConfigEntry:
		x.Kind = api.IngressGateway
		for i := range x.Listeners {
			x.Listeners[i].Protocol = strings.ToLower(x.Listeners[i].Protocol)
			if x.Listeners[i].Protocol == "" {
				x.Listeners[i].Protocol = "tcp"
			}
		}
	case *api.TerminatingGatewayConfigEntry:
		x.Kind = api.TerminatingGateway
	}
}

// Precedence is an intention's precedence as Consul computes it from how
// exact its source and destination are: an exact destination beats a
// wildcard one, then an exact source a wildcard one.
func Precedence(source, destination string) int {
	switch {
	case destination != wildcard && source != wildcard:
		return 9
	case destination != wildcard:
		return 8
	case source != wildcard:
		return 6
	}
	return 5
}

// Validate checks an entry as Consul's server does before writing it, with
// its messages.
func Validate(e api.ConfigEntry) error {
	switch x := e.(type) {
	case *api.ServiceConfigEntry:
		if err := named(x.Name); err != nil {
			return err
		}
		if x.Name == wildcard {
			return errors.New("service-defaults name must be the name of a service, and not a wildcard")
		}
		if err := proxyModes(string(x.Mode), string(x.MeshGateway.Mode)); err != nil {
			return err
		}
		if x.UpstreamConfig != nil && x.Destination != nil {
			return errors.New("UpstreamConfig and Destination are mutually exclusive for service defaults")
		}
		if d := x.Destination; d != nil {
			if len(d.Addresses) == 0 {
				return errors.New("Destination must contain at least one valid address")
			}
			seen := map[string]bool{}
			for _, a := range d.Addresses {
				if seen[a] {
					return fmt.Errorf("Duplicate address '%s' is not allowed", a)
				}
				seen[a] = true
				if net.ParseIP(a) == nil && (strings.Contains(a, "*") || !hostname(a)) {
					return fmt.Errorf("Destination address '%s' is invalid Could not validate address %s as an IP or Hostname", a, a)
				}
			}
			if d.Port < 1 || d.Port > 65535 {
				return fmt.Errorf("Invalid Port number %d", d.Port)
			}
		}
	case *api.ProxyConfigEntry:
		if x.Name != api.ProxyConfigGlobal {
			return fmt.Errorf("invalid name (%q), only %q is supported", x.Name, api.ProxyConfigGlobal)
		}
		if err := proxyModes(string(x.Mode), string(x.MeshGateway.Mode)); err != nil {
			return err
		}
		if x.AccessLogs != nil {
			return accessLogs(*x.AccessLogs)
		}
	case *api.MeshConfigEntry:
		return nil
	case *api.ServiceIntentionsConfigEntry:
		return validateIntentions(x)
	case *api.ServiceRouterConfigEntry:
		return named(x.Name)
	case *api.ServiceSplitterConfigEntry:
		if err := named(x.Name); err != nil {
			return err
		}
		if len(x.Splits) == 0 {
			return errors.New("no splits configured")
		}
		var sum float64
		for _, s := range x.Splits {
			sum += float64(s.Weight)
		}
		if math.Abs(sum-100) > 0.01 {
			return fmt.Errorf("the sum of all split weights must be 100, not %f", sum)
		}
	case *api.ServiceResolverConfigEntry:
		if err := named(x.Name); err != nil {
			return err
		}
		if x.DefaultSubset != "" {
			if _, ok := x.Subsets[x.DefaultSubset]; !ok {
				return fmt.Errorf("DefaultSubset %q is not a valid subset", x.DefaultSubset)
			}
		}
	case *api.IngressGatewayConfigEntry:
		return validateIngress(x)
	case *api.TerminatingGatewayConfigEntry:
		if err := named(x.Name); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, s := range x.Services {
			if s.Name == "" {
				return errors.New("Service name cannot be blank.")
			}
			if seen[s.Name] {
				return fmt.Errorf("Service %q was specified more than once within a namespace", s.Name)
			}
			seen[s.Name] = true
		}
	case *api.ExportedServicesConfigEntry:
		if err := named(x.Name); err != nil {
			return err
		}
		for i, s := range x.Services {
			if s.Name == "" {
				return fmt.Errorf("Services[%d]: service name cannot be empty", i)
			}
			if len(s.Consumers) == 0 {
				return fmt.Errorf("Services[%d]: must have at least one consumer", i)
			}
		}
	default:
		return fmt.Errorf("invalid config entry kind: %s", e.GetKind())
	}
	return nil
}

func named(name string) error {
	if name == "" {
		return errors.New("Name is required")
	}
	return nil
}

func hostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
	}
	return true
}

func proxyModes(mode, meshGateway string) error {
	switch mode {
	case "", "direct", "transparent":
	default:
		return fmt.Errorf("Invalid Proxy Mode: %q", mode)
	}
	switch meshGateway {
	case "", "none", "local", "remote":
	default:
		return fmt.Errorf("Invalid Mesh Gateway Mode: %q", meshGateway)
	}
	return nil
}

func accessLogs(c api.AccessLogsConfig) error {
	switch c.Type {
	case "", api.StdErrLogSinkType, api.StdOutLogSinkType:
	case api.FileLogSinkType:
		if c.Path == "" {
			return errors.New("path must be specified when using file type access logs")
		}
	default:
		return fmt.Errorf("invalid access log type: %s", c.Type)
	}
	if c.JSONFormat != "" && c.TextFormat != "" {
		return errors.New("cannot specify both access log JSONFormat and TextFormat")
	}
	if c.Type != api.FileLogSinkType && c.Path != "" {
		return errors.New("path is only valid for file type access logs")
	}
	return nil
}

func validateIntentions(x *api.ServiceIntentionsConfigEntry) error {
	if err := named(x.Name); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, src := range x.Sources {
		if src == nil {
			return fmt.Errorf("Sources[%d] is nil", i)
		}
		if src.Name == "" {
			return fmt.Errorf("Sources[%d].Name is required", i)
		}
		if seen[src.Name] {
			return fmt.Errorf("Sources[%d] defines %q more than once", i, src.Name)
		}
		seen[src.Name] = true
		if len(src.Permissions) > 0 {
			if src.Action != "" {
				return fmt.Errorf("Sources[%d].Action must be omitted if Permissions are specified", i)
			}
			for j, p := range src.Permissions {
				if p == nil || (p.Action != api.IntentionActionAllow && p.Action != api.IntentionActionDeny) {
					return fmt.Errorf("Sources[%d].Permissions[%d].Action must be set to 'allow' or 'deny'", i, j)
				}
			}
			continue
		}
		if src.Action != api.IntentionActionAllow && src.Action != api.IntentionActionDeny {
			return fmt.Errorf("Sources[%d].Action must be set to 'allow' or 'deny'", i)
		}
	}
	return nil
}

func validateIngress(x *api.IngressGatewayConfigEntry) error {
	if err := named(x.Name); err != nil {
		return err
	}
	ports := map[int]bool{}
	for _, l := range x.Listeners {
		switch l.Protocol {
		case "tcp", "http", "http2", "grpc":
		default:
			return fmt.Errorf("protocol must be 'tcp', 'http', 'http2', or 'grpc'. '%s' is an unsupported protocol", l.Protocol)
		}
		if ports[l.Port] {
			return fmt.Errorf("port %d declared on two listeners", l.Port)
		}
		ports[l.Port] = true
		if len(l.Services) == 0 {
			return fmt.Errorf("No service declared for listener with port %d", l.Port)
		}
		if l.Protocol == "tcp" && len(l.Services) > 1 {
			return fmt.Errorf("Multiple services per listener are only supported for L7 protocols, 'http', 'grpc' and 'http2' (listener on port %d)", l.Port)
		}
		for _, s := range l.Services {
			if s.Name == "" {
				return fmt.Errorf("Service name cannot be blank (listener on port %d)", l.Port)
			}
			if s.Name == wildcard && l.Protocol == "tcp" {
				return fmt.Errorf("Wildcard service name is only valid for L7 protocols, 'http', 'grpc' and 'http2' (listener on port %d)", l.Port)
			}
		}
	}
	return nil
}
