package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/local"
)

func init() {
	Register(Command{
		Name:     "services",
		Synopsis: "Interact with services",
		Help: `Usage: {{prog}} services <subcommand> [options] [args]

  Registers and deregisters services with the local agent, from flags or
  from service definition files (the same JSON or HCL service blocks the
  agent reads from its configuration directory). For example:

      $ {{prog}} services register -name=web -port=8080
      $ {{prog}} services register web.json
      $ {{prog}} services deregister -id=web

  To see every service in the catalog rather than the agent's own, use
  "{{prog}} catalog services".

  Run "{{prog}} services <subcommand> -h" for a subcommand's options.`,
	})
}

// servicesFromFiles reads the service definitions in the named files (or
// directories) with the agent's own configuration loader, as Consul does:
// whatever a "service" or "services" block may hold in the agent's config,
// it may hold here. The loader's warnings are printed to stderr.
func servicesFromFiles(paths []string, cio IO) ([]*api.AgentServiceRegistration, error) {
	// -dev gives a valid configuration around the files without needing a
	// data directory; the node name keeps it independent of the host name.
	loadArgs := []string{"-dev", "-node=services-cli"}
	for _, p := range paths {
		loadArgs = append(loadArgs, "-config-file="+p)
	}
	cfg, err := config.Load(loadArgs)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(cio.Stderr, w)
	}
	out := make([]*api.AgentServiceRegistration, 0, len(cfg.Services))
	for _, sd := range cfg.Services {
		reg, err := registrationFromDefinition(sd)
		if err != nil {
			return nil, err
		}
		out = append(out, reg)
	}
	return out, nil
}

// registrationFromDefinition converts a config file's service block to the
// API's registration.
func registrationFromDefinition(sd config.ServiceDefinition) (*api.AgentServiceRegistration, error) {
	reg := &api.AgentServiceRegistration{
		Kind:              api.ServiceKind(sd.Kind),
		ID:                sd.ID,
		Name:              sd.Name,
		Tags:              sd.Tags,
		Port:              sd.Port,
		Address:           sd.Address,
		SocketPath:        sd.SocketPath,
		EnableTagOverride: sd.EnableTagOverride,
		Meta:              sd.Meta,
		Weights:           &api.AgentWeights{Passing: sd.Weights.Passing, Warning: sd.Weights.Warning},
	}
	for _, p := range sd.Ports {
		reg.Ports = append(reg.Ports, api.ServicePort{Name: p.Name, Port: p.Port, Default: p.Default})
	}
	if sd.Locality != nil {
		reg.Locality = &api.Locality{Region: sd.Locality.Region, Zone: sd.Locality.Zone}
	}
	if len(sd.TaggedAddresses) > 0 {
		reg.TaggedAddresses = make(map[string]api.ServiceAddress, len(sd.TaggedAddresses))
		for tag, a := range sd.TaggedAddresses {
			reg.TaggedAddresses[tag] = api.ServiceAddress{Address: a.Address, Port: a.Port}
		}
	}
	for _, raw := range sd.Checks {
		def, err := local.DecodeCheck(raw)
		if err != nil {
			// The decoder words its errors for the HTTP API.
			msg := strings.TrimPrefix(err.Error(), "Request decode failed: ")
			return nil, fmt.Errorf("service %q: invalid check: %s", sd.Name, msg)
		}
		reg.Checks = append(reg.Checks, serviceCheckFromDefinition(def))
	}
	return reg, nil
}

func serviceCheckFromDefinition(d *local.CheckDefinition) *api.AgentServiceCheck {
	dur := func(v local.Duration) string {
		if v == 0 {
			return ""
		}
		return time.Duration(v).String()
	}
	return &api.AgentServiceCheck{
		CheckID:                        d.ID,
		Name:                           d.Name,
		Notes:                          d.Notes,
		Status:                         d.Status,
		Args:                           d.Args,
		HTTP:                           d.HTTP,
		Header:                         d.Header,
		Method:                         d.Method,
		Body:                           d.Body,
		TLSServerName:                  d.TLSServerName,
		TLSSkipVerify:                  d.TLSSkipVerify,
		TCP:                            d.TCP,
		UDP:                            d.UDP,
		GRPC:                           d.GRPC,
		GRPCUseTLS:                     d.GRPCUseTLS,
		H2PING:                         d.H2Ping,
		H2PingUseTLS:                   d.H2PingUseTLS,
		AliasNode:                      d.AliasNode,
		AliasService:                   d.AliasService,
		Interval:                       dur(d.Interval),
		Timeout:                        dur(d.Timeout),
		TTL:                            dur(d.TTL),
		DeregisterCriticalServiceAfter: dur(d.DeregisterCriticalServiceAfter),
		SuccessBeforePassing:           d.SuccessBeforePassing,
		FailuresBeforeWarning:          d.FailuresBeforeWarning,
		FailuresBeforeCritical:         d.FailuresBeforeCritical,
	}
}
