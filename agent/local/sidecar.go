package local

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/heraldhq/herald/event"
)

// ConnectDefinition is a registration's Connect block: Native for a service
// that speaks the mesh's mutual TLS itself, or a SidecarService that the
// agent registers as a service of its own next to it, as Consul's agent
// does.
type ConnectDefinition struct {
	Native         bool
	SidecarService *ServiceDefinition
}

// SidecarSuffix ends the ID and the default name of a sidecar proxy
// registered through its parent's Connect.SidecarService.
const SidecarSuffix = "-sidecar-proxy"

// Consul's default range of the ports given to sidecars registered without
// one (ports { sidecar_min_port, sidecar_max_port }).
const (
	DefaultSidecarMinPort = 21000
	DefaultSidecarMaxPort = 21255
)

// validateMesh checks the mesh fields of a registration as Consul's agent
// does, with its messages.
func (s *ServiceDefinition) validateMesh() error {
	if s.Kind == event.KindConnectProxy {
		if s.Proxy == nil || s.Proxy.DestinationServiceName == "" {
			return errors.New("Proxy.DestinationServiceName must be non-empty for Connect proxy services")
		}
		if s.Port == 0 && s.SocketPath == "" {
			return errors.New("Port or SocketPath must be set for a Connect proxy")
		}
	}
	if s.Connect == nil {
		return nil
	}
	if s.Connect.Native && s.Kind == event.KindConnectProxy {
		return errors.New("Connect-proxy service cannot be Connect native")
	}
	sc := s.Connect.SidecarService
	if sc == nil {
		return nil
	}
	if s.Kind != "" {
		return errors.New("Only typical service kinds may have a sidecar service")
	}
	if s.Connect.Native {
		return errors.New("Service cannot be both Connect native and have a sidecar service")
	}
	if sc.ID != "" {
		return errors.New("A SidecarService cannot specify an ID")
	}
	if sc.Connect != nil && sc.Connect.SidecarService != nil {
		return errors.New("A SidecarService cannot have a nested SidecarService")
	}
	return nil
}

// sidecarDefinition is the sidecar of parent with Consul's defaults: ID
// and name from the parent's with SidecarSuffix, kind connect-proxy, the
// parent's address, tags and meta unless it has its own, a Proxy pointing
// at the parent, and, without checks of its own, a TCP check on its port
// and an alias check of the parent. port is the port to take when it has
// none.
func sidecarDefinition(parent *ServiceDefinition, port int) ServiceDefinition {
	sc := *parent.Connect.SidecarService
	sc.ID = parent.ID + SidecarSuffix
	if sc.Kind == "" {
		sc.Kind = event.KindConnectProxy
	}
	if sc.Name == "" {
		sc.Name = parent.Name + SidecarSuffix
	}
	if sc.Address == "" {
		sc.Address = parent.Address
	}
	if len(sc.Meta) == 0 && len(parent.Meta) > 0 {
		sc.Meta = parent.Meta
	}
	if len(sc.Tags) == 0 && len(parent.Tags) > 0 {
		sc.Tags = parent.Tags
	}
	if sc.Token == "" {
		sc.Token = parent.Token
	}
	proxy := event.ServiceProxy{}
	if sc.Proxy != nil {
		proxy = *sc.Proxy
	}
	if proxy.DestinationServiceName == "" {
		proxy.DestinationServiceName = parent.Name
	}
	if proxy.DestinationServiceID == "" {
		proxy.DestinationServiceID = parent.ID
	}
	if proxy.LocalServiceSocketPath == "" && (proxy.LocalServiceAddress == "" || proxy.LocalServicePort < 1) {
		if parent.SocketPath != "" {
			proxy.LocalServiceSocketPath = parent.SocketPath
		} else {
			if proxy.LocalServiceAddress == "" {
				proxy.LocalServiceAddress = "127.0.0.1"
			}
			if proxy.LocalServicePort < 1 {
				proxy.LocalServicePort = parent.Port
			}
		}
	}
	sc.Proxy = &proxy
	if sc.Port == 0 {
		sc.Port = port
	}
	if sc.Check == nil && len(sc.Checks) == 0 {
		addr := sc.Address
		if addr == "" {
			addr = proxy.LocalServiceAddress
		}
		sc.Checks = []CheckDefinition{
			{Name: "Connect Sidecar Listening", TCP: net.JoinHostPort(addr, strconv.Itoa(sc.Port)), Interval: Duration(10e9)},
			{Name: "Connect Sidecar Aliasing " + parent.ID, AliasService: parent.ID},
		}
	}
	return sc
}

// sidecarPortLocked is the port for the sidecar of ID id registered
// without one: the one it has when it is registered already with a port
// of the range, else the lowest port of the range no service of this
// agent has. Consul's messages when there is none.
func (s *State) sidecarPortLocked(id string) (int, error) {
	lo, hi := s.cfg.SidecarMinPort, s.cfg.SidecarMaxPort
	if lo < 1 || hi < 1 {
		return 0, errors.New("no port provided for sidecar_service and auto-assignment disabled in config")
	}
	used := map[int]bool{}
	for sid, sv := range s.services {
		if sv.deleted || sv.record.Port < lo || sv.record.Port > hi {
			continue
		}
		if sid == id {
			return sv.record.Port, nil
		}
		used[sv.record.Port] = true
	}
	for p := lo; p <= hi; p++ {
		if !used[p] {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no port provided for sidecar_service and none left in the configured range [%d, %d]", lo, hi)
}

// addSidecar registers, replaces or removes the sidecar of parent to
// match its definition.
func (s *State) addSidecar(parent *ServiceDefinition, source Source, replaceChecks bool) error {
	id := parent.ID + SidecarSuffix
	if parent.Connect == nil || parent.Connect.SidecarService == nil {
		s.mu.Lock()
		sv, ok := s.services[id]
		registered := ok && !sv.deleted && sv.sidecarOf == parent.ID
		s.mu.Unlock()
		if registered {
			return s.RemoveService(id)
		}
		return nil
	}
	port := 0
	if parent.Connect.SidecarService.Port == 0 {
		s.mu.Lock()
		p, err := s.sidecarPortLocked(id)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		port = p
	}
	sc := sidecarDefinition(parent, port)
	return s.addService(sc, source, replaceChecks, parent.ID)
}
