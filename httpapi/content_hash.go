package httpapi

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/consul/api"
	"github.com/mitchellh/hashstructure"

	"github.com/heraldhq/herald/event"
)

// contentHash is the ContentHash of /v1/agent/service/:id: Consul's, the
// hashstructure hash of the service as its agent answers it (an
// api.AgentService without the hash), so a client may hand a hash from
// either to the other's ?hash=. The agent's own copy of a service carries
// no Raft indexes in Consul, so none enter the hash here either.
func contentHash(s *event.Service, dc string) (string, error) {
	as := api.AgentService{
		Kind: api.ServiceKind(s.Kind), ID: s.ID, Service: s.Service, Tags: strs(s.Tags), Meta: strMap(s.Meta),
		Port: s.Port, Address: s.Address, SocketPath: s.SocketPath, EnableTagOverride: s.EnableTagOverride,
		Weights: api.AgentWeights{Passing: s.Weights.Passing, Warning: s.Weights.Warning}, Datacenter: dc,
	}
	if len(s.TaggedAddresses) > 0 {
		as.TaggedAddresses = map[string]api.ServiceAddress{}
		for k, v := range s.TaggedAddresses {
			as.TaggedAddresses[k] = api.ServiceAddress{Address: v.Address, Port: v.Port}
		}
	}
	for _, p := range s.Ports {
		as.Ports = append(as.Ports, api.ServicePort{Name: p.Name, Port: p.Port, Default: p.Default})
	}
	if s.Locality != nil {
		as.Locality = &api.Locality{Region: s.Locality.Region, Zone: s.Locality.Zone}
	}
	if event.IsMeshKind(s.Kind) && s.Proxy != nil {
		// The same field names: JSON carries the block across.
		as.Proxy = new(api.AgentServiceConnectProxyConfig)
		if b, err := json.Marshal(s.Proxy); err != nil || json.Unmarshal(b, as.Proxy) != nil {
			return "", fmt.Errorf("content hash: proxy of %q", s.ID)
		}
	}
	if s.Connect != nil && s.Connect.Native {
		as.Connect = &api.AgentServiceConnect{Native: true}
	}
	h, err := hashstructure.Hash(&as, nil)
	if err != nil {
		return "", fmt.Errorf("content hash: %w", err)
	}
	return fmt.Sprintf("%x", h), nil
}
