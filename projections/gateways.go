package projections

import (
	"encoding/json"
	"sort"

	"github.com/heraldhq/herald/event"
)

// The services of gateways, as their config entries name them: what an
// ingress gateway's listeners route to, and what a terminating gateway
// links. A name "*" stands for every service of the catalog.

// GatewayService is one service a gateway serves, in the shape of Consul's
// api.GatewayService without the compound names (the API adds them).
type GatewayService struct {
	Gateway, Service string
	GatewayKind      string
	Port             int
	Protocol         string
	Hosts            []string
	CAFile           string
	CertFile         string
	KeyFile          string
	SNI              string
	FromWildcard     bool
}

// ingressBody and terminatingBody are the parts of the gateways' entries
// these reads need.
type ingressBody struct {
	Listeners []struct {
		Port     int
		Protocol string
		Services []struct {
			Name  string
			Hosts []string
		}
	}
}

type terminatingBody struct {
	Services []struct {
		Name, CAFile, CertFile, KeyFile, SNI string
	}
}

// GatewayServices returns the services of the gateway named gateway,
// expanding "*" over services (the catalog's service names), sorted by
// service name, and the config entries' index.
func (c *ConfigEntries) GatewayServices(gateway string, services []string) []GatewayService {
	c.mu.RLock()
	ingress := c.entries[event.KindIngressGateway][gateway]
	terminating := c.entries[event.KindTerminatingGateway][gateway]
	c.mu.RUnlock()
	var out []GatewayService
	expand := func(gs GatewayService) {
		if gs.Service != "*" {
			out = append(out, gs)
			return
		}
		for _, name := range services {
			one := gs
			one.Service, one.FromWildcard = name, true
			out = append(out, one)
		}
	}
	if ingress != nil {
		var b ingressBody
		if json.Unmarshal(ingress.Body, &b) == nil {
			for _, l := range b.Listeners {
				for _, s := range l.Services {
					expand(GatewayService{Gateway: gateway, Service: s.Name, GatewayKind: event.KindIngressGateway,
						Port: l.Port, Protocol: l.Protocol, Hosts: s.Hosts})
				}
			}
		}
	}
	if terminating != nil {
		var b terminatingBody
		if json.Unmarshal(terminating.Body, &b) == nil {
			for _, s := range b.Services {
				expand(GatewayService{Gateway: gateway, Service: s.Name, GatewayKind: event.KindTerminatingGateway,
					CAFile: s.CAFile, CertFile: s.CertFile, KeyFile: s.KeyFile, SNI: s.SNI})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// IngressGatewaysFor returns the names of the ingress gateways whose
// listeners route to service, by name or through "*", sorted.
func (c *ConfigEntries) IngressGatewaysFor(service string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for name, e := range c.entries[event.KindIngressGateway] {
		var b ingressBody
		if json.Unmarshal(e.Body, &b) != nil {
			continue
		}
	listeners:
		for _, l := range b.Listeners {
			for _, s := range l.Services {
				if s.Name == service || s.Name == "*" {
					out = append(out, name)
					break listeners
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// TypicalServices returns the names of the catalog's services of the
// typical kind, but for Consul's own "consul": what a gateway's "*"
// stands for. Sorted.
func (c *Catalog) TypicalServices() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for _, instances := range c.byName {
		for _, s := range instances {
			if s.Kind == "" && s.Service != "consul" {
				out = append(out, s.Service)
			}
			break
		}
	}
	sort.Strings(out)
	return out
}
