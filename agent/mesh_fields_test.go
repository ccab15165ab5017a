package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// fullProxy is a Proxy block with every field set, as a registration sends
// it and every read must give it back.
func fullProxy(dest string) *api.AgentServiceConnectProxyConfig {
	return &api.AgentServiceConnectProxyConfig{
		EnvoyExtensions:        []api.EnvoyExtension{{Name: "builtin/lua", Required: true, Arguments: map[string]interface{}{"Script": "x"}, ConsulVersion: ">=1.15", EnvoyVersion: ">=1.24"}},
		DestinationServiceName: dest,
		DestinationServiceID:   dest + "-1",
		LocalServiceAddress:    "127.0.0.1",
		LocalServicePort:       8080,
		LocalServiceSocketPath: "",
		Mode:                   api.ProxyModeTransparent,
		TransparentProxy:       &api.TransparentProxyConfig{OutboundListenerPort: 15001, DialedDirectly: true},
		Config:                 map[string]interface{}{"protocol": "http", "envoy_stats_bind_addr": "0.0.0.0:9102", "nested": map[string]interface{}{"Some_Key": true}},
		Upstreams: []api.Upstream{{
			DestinationType: api.UpstreamDestTypeService, DestinationNamespace: "default", DestinationPartition: "default",
			DestinationPeer: "", DestinationName: "db", DestinationPort: "", Datacenter: "dc1",
			LocalBindAddress: "127.0.0.2", LocalBindPort: 9191, Config: map[string]interface{}{"connect_timeout_ms": float64(5000)},
			MeshGateway: api.MeshGatewayConfig{Mode: api.MeshGatewayModeLocal},
		}, {DestinationType: api.UpstreamDestTypePreparedQuery, DestinationName: "q", LocalBindSocketPath: "/run/q.sock", LocalBindSocketMode: "0700"}},
		MeshGateway: api.MeshGatewayConfig{Mode: api.MeshGatewayModeRemote},
		Expose: api.ExposeConfig{Checks: true, Paths: []api.ExposePath{
			{ListenerPort: 21500, Path: "/health", LocalPathPort: 8080, Protocol: "http"}}},
		AccessLogs: &api.AccessLogsConfig{Enabled: true, Type: api.FileLogSinkType, Path: "/var/log/envoy.log", JSONFormat: `{"a":"b"}`},
	}
}

// Every service kind registered through the agent with its whole Proxy
// block comes back field for field from the agent, the catalog, health
// and a transaction's get; a Connect-native service keeps Connect.Native;
// a typical service answers the empty blocks where Consul has them.
func TestMeshKindsRoundTrip(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	kinds := []api.ServiceKind{api.ServiceKindConnectProxy, api.ServiceKindMeshGateway, api.ServiceKindTerminatingGateway,
		api.ServiceKindIngressGateway, api.ServiceKindAPIGateway}
	for _, k := range kinds {
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
			Kind: k, ID: string(k) + "-1", Name: string(k), Port: 21000, Proxy: fullProxy("web"),
		}); err != nil {
			t.Fatalf("register %s: %v", k, err)
		}
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		Name: "native", Port: 8443, Connect: &api.AgentServiceConnect{Native: true},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "plain", Port: 80}); err != nil {
		t.Fatal(err)
	}

	want := fullProxy("web")
	services, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		id := string(k) + "-1"
		s := services[id]
		if s == nil || s.Kind != k || !reflect.DeepEqual(s.Proxy, want) {
			t.Errorf("agent/services %s: %+v", id, s)
			continue
		}
		one, _, err := c.Agent().Service(id, nil)
		if err != nil || one.Kind != k || !reflect.DeepEqual(one.Proxy, want) {
			t.Errorf("agent/service/%s: %v %+v", id, err, one)
		}
		cs, _, err := c.Catalog().Service(string(k), "", nil)
		if err != nil || len(cs) != 1 || !reflect.DeepEqual(cs[0].ServiceProxy, want) {
			t.Errorf("catalog/service/%s: %v %+v", k, err, cs)
		}
		hs, _, err := c.Health().Service(string(k), "", false, nil)
		if err != nil || len(hs) != 1 || hs[0].Service.Kind != k || !reflect.DeepEqual(hs[0].Service.Proxy, want) {
			t.Errorf("health/service/%s: %v %+v", k, err, hs)
		}
	}
	if s := services["native"]; s == nil || s.Connect == nil || !s.Connect.Native || s.Proxy != nil {
		t.Errorf("agent/services native: %+v", s)
	}
	hs, _, err := c.Health().Service("native", "", false, nil)
	if err != nil || len(hs) != 1 || hs[0].Service.Connect == nil || !hs[0].Service.Connect.Native {
		t.Errorf("health/service/native: %v %+v", err, hs)
	}
	// A typical service: no Proxy or Connect from the agent, empty ones
	// from the catalog and health (Consul's NodeService).
	if s := services["plain"]; s == nil || s.Proxy != nil || s.Connect != nil {
		t.Errorf("agent/services plain: %+v", s)
	}
	hs, _, err = c.Health().Service("plain", "", false, nil)
	if err != nil || len(hs) != 1 || !reflect.DeepEqual(hs[0].Service.Proxy, &api.AgentServiceConnectProxyConfig{}) ||
		!reflect.DeepEqual(hs[0].Service.Connect, &api.AgentServiceConnect{}) {
		t.Errorf("health/service/plain: %v %+v", err, hs)
	}

	// The catalog API and a transaction keep the blocks too.
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.0.0.9",
		Service: &api.AgentService{Kind: api.ServiceKindConnectProxy, ID: "ext-proxy", Service: "ext-proxy", Port: 20000, Proxy: fullProxy("ext")},
	}, nil); err != nil {
		t.Fatal(err)
	}
	cs, _, err := c.Catalog().Service("ext-proxy", "", nil)
	if err != nil || len(cs) != 1 || !reflect.DeepEqual(cs[0].ServiceProxy, fullProxy("ext")) {
		t.Errorf("catalog register ext-proxy: %v %+v", err, cs)
	}
	ok, resp, _, err := c.Txn().Txn(api.TxnOps{
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "ext", Service: api.AgentService{
			Kind: api.ServiceKindMeshGateway, ID: "gw", Service: "gw", Port: 8443, Proxy: fullProxy("gw")}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceGet, Node: "ext", Service: api.AgentService{ID: "gw"}}},
	}, nil)
	if err != nil || !ok || len(resp.Results) != 2 || resp.Results[1].Service == nil ||
		!reflect.DeepEqual(resp.Results[1].Service.Proxy, fullProxy("gw")) {
		t.Fatalf("txn: %v %v %+v", err, ok, resp)
	}
	hs, _, err = c.Health().Service("gw", "", false, nil)
	if err != nil || len(hs) != 1 || hs[0].Service.Kind != api.ServiceKindMeshGateway || !reflect.DeepEqual(hs[0].Service.Proxy, fullProxy("gw")) {
		t.Errorf("health/service/gw after txn: %v %+v", err, hs)
	}
}

// A registration's Connect.SidecarService registers the sidecar as its
// own service with Consul's defaults, and it goes with its parent.
func TestSidecarServiceFromAgentAPI(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: "web-1", Name: "web", Port: 8080, Tags: []string{"v1"}, Meta: map[string]string{"team": "a"},
		Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{
			Proxy: &api.AgentServiceConnectProxyConfig{Upstreams: []api.Upstream{{DestinationName: "db", LocalBindPort: 9191}}},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	side, _, err := c.Agent().Service("web-1-sidecar-proxy", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantProxy := &api.AgentServiceConnectProxyConfig{DestinationServiceName: "web", DestinationServiceID: "web-1",
		LocalServiceAddress: "127.0.0.1", LocalServicePort: 8080,
		Upstreams: []api.Upstream{{DestinationName: "db", LocalBindPort: 9191}}}
	if side.Kind != api.ServiceKindConnectProxy || side.Service != "web-sidecar-proxy" || side.Port != 21000 ||
		!reflect.DeepEqual(side.Tags, []string{"v1"}) || side.Meta["team"] != "a" || !reflect.DeepEqual(side.Proxy, wantProxy) {
		t.Fatalf("sidecar: %+v proxy %+v", side, side.Proxy)
	}
	parent, _, err := c.Agent().Service("web-1", nil)
	if err != nil || parent.Connect != nil || parent.Proxy != nil {
		t.Fatalf("parent keeps no sidecar block: %v %+v", err, parent)
	}
	checks, err := c.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	tcp, alias := checks["service:web-1-sidecar-proxy:1"], checks["service:web-1-sidecar-proxy:2"]
	if tcp == nil || tcp.Name != "Connect Sidecar Listening" || tcp.Definition.TCP != "127.0.0.1:21000" || tcp.ServiceID != "web-1-sidecar-proxy" {
		t.Errorf("tcp check: %+v", tcp)
	}
	if alias == nil || alias.Name != "Connect Sidecar Aliasing web-1" || alias.ServiceID != "web-1-sidecar-proxy" {
		t.Errorf("alias check: %+v", alias)
	}
	// A second sidecar takes the next port; re-registering keeps its own.
	for i := 0; i < 2; i++ {
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "api-1", Name: "api", Port: 9090,
			Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{}}}); err != nil {
			t.Fatal(err)
		}
	}
	if s, _, err := c.Agent().Service("api-1-sidecar-proxy", nil); err != nil || s.Port != 21001 {
		t.Fatalf("second sidecar: %v %+v", err, s)
	}
	cs, _, err := c.Catalog().Service("web-sidecar-proxy", "", nil)
	if err != nil || len(cs) != 1 || cs[0].ServiceProxy.DestinationServiceID != "web-1" {
		t.Fatalf("catalog sidecar: %v %+v", err, cs)
	}

	// Deregistering the parent removes the sidecar and its checks.
	if err := c.Agent().ServiceDeregister("web-1"); err != nil {
		t.Fatal(err)
	}
	services, err := c.Agent().Services()
	if err != nil || services["web-1-sidecar-proxy"] != nil || services["api-1-sidecar-proxy"] == nil {
		t.Fatalf("after deregister: %v %v", err, services)
	}
	checks, _ = c.Agent().Checks()
	for id := range checks {
		if strings.Contains(id, "web-1-sidecar-proxy") {
			t.Errorf("check %s left behind", id)
		}
	}
	poll.Eventually(t, 10*time.Second, "sidecar gone from the catalog", func() (bool, string) {
		cs, _, err := c.Catalog().Service("web-sidecar-proxy", "", nil)
		return err == nil && len(cs) == 0, fmt.Sprintf("%v %d", err, len(cs))
	})
}

// A config file's service { connect { sidecar_service {} } } registers the
// sidecar, with its port from ports { sidecar_min_port }, and a proxy
// service's proxy block in HCL keeps its fields.
func TestSidecarServiceFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	hcl := `ports {
  sidecar_min_port = 23000
  sidecar_max_port = 23010
}
service {
  name = "web"
  port = 8080
  connect { sidecar_service {} }
}
service {
  kind = "connect-proxy"
  name = "db-proxy"
  port = 20000
  proxy {
    destination_service_name = "db"
    local_service_port = 5432
    mode = "direct"
    config { protocol = "tcp" }
    upstreams {
      destination_name = "cache"
      local_bind_port = 6379
    }
    upstreams {
      destination_name = "auth"
      local_bind_port = 7000
    }
    expose {
      checks = true
      paths = [{ path = "/metrics", local_path_port = 9000, listener_port = 21600 }]
    }
  }
}
service {
  name = "pay"
  port = 7443
  connect { native = true }
}`
	if err := os.WriteFile(filepath.Join(dir, "mesh.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	a := agenttest.Start(t, "-dev", "-config-dir="+dir)
	c := agenttest.Client(t, a.HTTPAddr())
	services, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	side := services["web-sidecar-proxy"]
	if side == nil || side.Port != 23000 || side.Kind != api.ServiceKindConnectProxy || side.Proxy == nil ||
		side.Proxy.DestinationServiceName != "web" || side.Proxy.LocalServicePort != 8080 {
		t.Fatalf("sidecar from config: %+v", side)
	}
	db := services["db-proxy"]
	wantDB := &api.AgentServiceConnectProxyConfig{DestinationServiceName: "db", LocalServicePort: 5432, Mode: api.ProxyModeDirect,
		Config:    map[string]interface{}{"protocol": "tcp"},
		Upstreams: []api.Upstream{{DestinationName: "cache", LocalBindPort: 6379}, {DestinationName: "auth", LocalBindPort: 7000}},
		Expose:    api.ExposeConfig{Checks: true, Paths: []api.ExposePath{{Path: "/metrics", LocalPathPort: 9000, ListenerPort: 21600}}}}
	if db == nil || !reflect.DeepEqual(db.Proxy, wantDB) {
		t.Fatalf("db-proxy from config: %+v", db)
	}
	if pay := services["pay"]; pay == nil || pay.Connect == nil || !pay.Connect.Native {
		t.Fatalf("native from config: %+v", pay)
	}
}

// Consul's refusals of a bad proxy registration.
func TestProxyRegistrationRefused(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	for _, tc := range []struct {
		reg  api.AgentServiceRegistration
		want string
	}{
		{api.AgentServiceRegistration{Kind: api.ServiceKindConnectProxy, Name: "p", Port: 1}, "Proxy.DestinationServiceName must be non-empty"},
		{api.AgentServiceRegistration{Kind: api.ServiceKindConnectProxy, Name: "p", Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: "w"}}, "Port or SocketPath must be set"},
		{api.AgentServiceRegistration{Name: "w", Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{
			Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{}}}}}, "nested SidecarService"},
	} {
		err := c.Agent().ServiceRegister(&tc.reg)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want 400 %q", tc.reg, err, tc.want)
		}
	}
}
