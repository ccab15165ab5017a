package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/local"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
)

// catalogWriter proposes catalog commands on this server's Raft host.
type catalogWriter struct{ a *Agent }

func (w catalogWriter) ApplyCatalog(ctx context.Context, body command.Body) error {
	// The agent's own writes (anti-entropy sync, check updates) go with
	// the token the service or check was registered with, else with the
	// agent's token.
	ctx = acl.WithIdentity(ctx, w.a.syncIdentity(local.TokenFrom(ctx)))
	res, err := w.a.raft.Propose(ctx, command.Command{Time: nowNano(), Body: body})
	if err != nil {
		return err
	}
	if !res.Succeeded {
		return errors.New(res.Refusal)
	}
	return nil
}

// ownChecks are the checks /v1/agent/checks lists: not serfHealth, which
// Consul's leader registers for each member rather than the agent itself,
// so Consul's agent endpoint does not show it (the catalog does).
func (a *Agent) ownChecks() map[string]event.Check {
	out := a.local.Checks()
	delete(out, health.SerfCheckID)
	return out
}

// registerSelf puts the agent's own node in the catalog with its serfHealth
// check and, on servers, the "consul" service that DNS answers
// consul.service.consul with.
func (a *Agent) registerSelf() error {
	a.local.SetSpecialCheck(event.Check{CheckID: health.SerfCheckID, Name: "Serf Health Status", Status: event.HealthPassing,
		Output: "Agent alive and reachable", Type: ""})
	if a.cfg.Server || a.cfg.Dev {
		err := a.local.AddService(local.ServiceDefinition{ID: "consul", Name: "consul", Port: a.cfg.Ports.Server,
			Meta: map[string]string{"raft_version": "3", "serf_protocol_current": "2", "version": "herald"}}, local.SourceInternal, false)
		if err != nil {
			return err
		}
	}
	return a.loadDefinitions(a.cfg)
}

// loadDefinitions adds the services and checks of config files.
func (a *Agent) loadDefinitions(cfg *config.Config) error {
	for _, sd := range cfg.Services {
		def, err := serviceFromConfig(sd)
		if err != nil {
			return err
		}
		if err := a.local.AddService(*def, local.SourceConfig, true); err != nil {
			return fmt.Errorf("service %q in config: %w", def.Name, err)
		}
	}
	for _, raw := range cfg.Checks {
		def, err := local.DecodeCheck(raw)
		if err != nil {
			return err
		}
		if err := a.local.AddCheck(*def, local.SourceConfig); err != nil {
			return fmt.Errorf("check %q in config: %w", def.Name, err)
		}
	}
	return nil
}

// serviceFromConfig turns a config file's service block into a definition.
func serviceFromConfig(sd config.ServiceDefinition) (*local.ServiceDefinition, error) {
	def := &local.ServiceDefinition{Kind: sd.Kind, ID: sd.ID, Name: sd.Name, Tags: sd.Tags, Port: sd.Port,
		Address: sd.Address, SocketPath: sd.SocketPath, EnableTagOverride: sd.EnableTagOverride, Meta: sd.Meta,
		Weights: &event.Weights{Passing: sd.Weights.Passing, Warning: sd.Weights.Warning}}
	for _, p := range sd.Ports {
		def.Ports = append(def.Ports, event.ServicePort{Name: p.Name, Port: p.Port, Default: p.Default})
	}
	if sd.Locality != nil {
		def.Locality = &event.Locality{Region: sd.Locality.Region, Zone: sd.Locality.Zone}
	}
	if len(sd.TaggedAddresses) > 0 {
		def.TaggedAddresses = map[string]event.ServiceAddress{}
		for k, v := range sd.TaggedAddresses {
			def.TaggedAddresses[k] = event.ServiceAddress{Address: v.Address, Port: v.Port}
		}
	}
	for _, raw := range sd.Checks {
		c, err := local.DecodeCheck(raw)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", sd.Name, err)
		}
		def.Checks = append(def.Checks, *c)
	}
	if sd.Connect != nil || sd.Proxy != nil {
		// The mesh blocks are read as the API's registrations are.
		mesh, err := local.DecodeService(map[string]any{"connect": sd.Connect, "proxy": sd.Proxy})
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", sd.Name, err)
		}
		def.Proxy, def.Connect = mesh.Proxy, mesh.Connect
	}
	return def, nil
}

// Reload re-reads the config files: services and checks that came from
// files are added, replaced or removed to match them; those registered
// through the API stay.
func (a *Agent) Reload() error {
	if a.reloadConfig == nil {
		return nil
	}
	cfg, err := a.reloadConfig()
	if err != nil {
		return badRequest(fmt.Errorf("reload: %w", err))
	}
	keep := map[string]bool{"consul": true}
	for _, sd := range cfg.Services {
		id := sd.ID
		if id == "" {
			id = sd.Name
		}
		keep[id] = true
	}
	for _, id := range a.local.ServiceSources(local.SourceConfig) {
		if !keep[id] {
			a.local.RemoveService(id)
		}
	}
	keepChecks := map[string]bool{}
	for _, raw := range cfg.Checks {
		if def, err := local.DecodeCheck(raw); err == nil {
			id := def.ID
			if id == "" {
				id = def.Name
			}
			keepChecks[id] = true
		}
	}
	for _, id := range a.local.CheckSources(local.SourceConfig) {
		if !keepChecks[id] {
			a.local.RemoveCheck(id)
		}
	}
	if err := a.loadDefinitions(cfg); err != nil {
		return badRequest(err)
	}
	if err := a.watches.apply(a, cfg.Watches); err != nil {
		return badRequest(err)
	}
	return a.syncNow()
}

// syncNow writes local changes to the catalog before an API call returns,
// so a client that registers and then reads the catalog sees its service.
func (a *Agent) syncNow() error {
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	if err := a.local.SyncChanges(ctx); err != nil {
		a.log.Warn("catalog sync after a local change failed; it will be retried", "error", err)
	}
	return nil
}

// Sync writes the agent's node, services and checks to the catalog now,
// rather than waiting for the sync loop: for callers (tests, tools) that
// need the catalog complete before they go on.
func (a *Agent) Sync(ctx context.Context) error { return a.local.Sync(ctx) }

func badRequest(err error) error { return agenterr.Mark(agenterr.ErrInvalid, err) }

// localError gives the local state's errors their kinds: an unknown service
// or check is not found, anything else is an invalid request.
func localError(err error) error {
	if errors.Is(err, local.ErrUnknownService) || errors.Is(err, local.ErrUnknownCheck) {
		return agenterr.Mark(agenterr.ErrNotFound, err)
	}
	return badRequest(err)
}

// The httpapi.LocalAgent methods.

func (a *Agent) Services() map[string]event.Service      { return a.local.Services() }
func (a *Agent) Service(id string) (event.Service, bool) { return a.local.Service(id) }
func (a *Agent) Checks() map[string]event.Check          { return a.ownChecks() }
func (a *Agent) WatchLocal() <-chan struct{}             { return a.local.Watch() }

func (a *Agent) RegisterService(doc any, replaceExistingChecks bool, token string) error {
	def, err := local.DecodeService(doc)
	if err != nil {
		return badRequest(err)
	}
	def.Token = token
	if err := a.local.AddService(*def, local.SourceAPI, replaceExistingChecks); err != nil {
		return localError(err)
	}
	return a.syncNow()
}

func (a *Agent) DeregisterService(id string) error {
	if err := a.local.RemoveService(id); err != nil {
		return localError(err)
	}
	return a.syncNow()
}

func (a *Agent) RegisterCheck(doc any, token string) error {
	def, err := local.DecodeCheck(doc)
	if err != nil {
		return badRequest(err)
	}
	def.Token = token
	if err := a.local.AddCheck(*def, local.SourceAPI); err != nil {
		return localError(err)
	}
	return a.syncNow()
}

func (a *Agent) DeregisterCheck(id string) error {
	if err := a.local.RemoveCheck(id); err != nil {
		return localError(err)
	}
	return a.syncNow()
}

func (a *Agent) UpdateTTL(id, status, output string) error {
	if err := a.local.UpdateTTL(id, status, output); err != nil {
		return localError(err)
	}
	return a.syncNow()
}

func (a *Agent) ServiceMaintenance(id string, enable bool, reason string) error {
	if _, ok := a.local.Service(id); !ok {
		return localError(fmt.Errorf("%w: Unknown service ID %q", local.ErrUnknownService, id))
	}
	checkID := health.ServiceMaintCheckID(id)
	if !enable {
		a.local.RemoveSpecialCheck(checkID)
		return a.syncNow()
	}
	if reason == "" {
		reason = "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
	}
	a.local.SetSpecialCheck(event.Check{CheckID: checkID, Name: "Service Maintenance Mode", Notes: reason,
		ServiceID: id, Status: event.HealthCritical, Type: "maintenance"})
	return a.syncNow()
}

func (a *Agent) NodeMaintenance(enable bool, reason string) error {
	if !enable {
		a.local.RemoveSpecialCheck(health.NodeMaintCheckID)
		return a.syncNow()
	}
	if reason == "" {
		reason = "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
	}
	a.local.SetSpecialCheck(event.Check{CheckID: health.NodeMaintCheckID, Name: "Node Maintenance Mode", Notes: reason,
		Status: event.HealthCritical, Type: "maintenance"})
	return a.syncNow()
}

var _ httpapi.LocalAgent = (*Agent)(nil)
