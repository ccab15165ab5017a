package agent_test

import (
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// A sidecar (whose proxy asks for the leaf of the service it fronts, as
// Consul's proxies do) and a Connect-native service get leaf certificates
// that verify against the roots with crypto/x509 and carry the service's
// SPIFFE ID.
func TestMeshLeafCertificates(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 8080,
		Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "pay", Port: 7443,
		Connect: &api.AgentServiceConnect{Native: true}}); err != nil {
		t.Fatal(err)
	}
	roots, _ := activeRoots(t, c)
	var pems []string
	for _, r := range roots.Roots {
		pems = append(pems, r.RootCertPEM)
	}
	side, _, err := c.Agent().Service("web-1-sidecar-proxy", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range []string{side.Proxy.DestinationServiceName, "pay"} {
		leaf, _, err := c.Agent().ConnectCALeaf(service, nil)
		if err != nil {
			t.Fatalf("leaf of %s: %v", service, err)
		}
		verifyLeaf(t, leaf, roots.TrustDomain, service, pems...)
	}
}
