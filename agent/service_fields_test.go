package agent_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// A service's Locality, SocketPath and multi-port Ports survive every way
// of registering it (config file, agent API, catalog API) and come back
// from every read, as Consul keeps them.
func TestServiceLocalitySocketPathPorts(t *testing.T) {
	dir := t.TempDir()
	hcl := `service {
  name        = "files"
  socket_path = "/run/files.sock"
  locality {
    region = "eu-west-1"
    zone   = "eu-west-1a"
  }
  ports = [
    { name = "http", port = 8080, default = true },
    { name = "admin", port = 9000 },
  ]
}`
	if err := os.WriteFile(filepath.Join(dir, "files.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	a := agenttest.Start(t, "-dev", "-config-dir="+dir)
	c := agenttest.Client(t, a.HTTPAddr())
	wantPorts := api.ServicePorts{{Name: "http", Port: 8080, Default: true}, {Name: "admin", Port: 9000}}
	wantLoc := &api.Locality{Region: "eu-west-1", Zone: "eu-west-1a"}

	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: "api-1", Name: "api", SocketPath: "/run/api.sock", Ports: wantPorts, Locality: wantLoc,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{
		Node: "ext", Address: "10.0.0.9", Locality: &api.Locality{Region: "us"},
		Service: &api.AgentService{ID: "cat-1", Service: "cat", SocketPath: "/run/cat.sock", Ports: wantPorts, Locality: wantLoc},
	}, nil); err != nil {
		t.Fatal(err)
	}

	same := func(what string, socket, wantSocket string, ports api.ServicePorts, loc *api.Locality) {
		t.Helper()
		if socket != wantSocket || !reflect.DeepEqual(ports, wantPorts) || !reflect.DeepEqual(loc, wantLoc) {
			t.Errorf("%s: SocketPath %q Ports %+v Locality %+v", what, socket, ports, loc)
		}
	}
	svcs, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	for id, sock := range map[string]string{"files": "/run/files.sock", "api-1": "/run/api.sock"} {
		s := svcs[id]
		if s == nil {
			t.Fatalf("agent services lack %s: %v", id, svcs)
		}
		same("agent/services "+id, s.SocketPath, sock, s.Ports, s.Locality)
		one, _, err := c.Agent().Service(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		same("agent/service/"+id, one.SocketPath, sock, one.Ports, one.Locality)
	}
	for name, sock := range map[string]string{"files": "/run/files.sock", "api": "/run/api.sock", "cat": "/run/cat.sock"} {
		entries, _, err := c.Health().Service(name, "", false, nil)
		if err != nil || len(entries) != 1 {
			t.Fatalf("health/service/%s: %v %v", name, entries, err)
		}
		s := entries[0].Service
		same("health/service/"+name, s.SocketPath, sock, s.Ports, s.Locality)
		cs, _, err := c.Catalog().Service(name, "", nil)
		if err != nil || len(cs) != 1 || !reflect.DeepEqual(cs[0].ServiceLocality, wantLoc) {
			t.Fatalf("catalog/service/%s: %v %+v", name, err, cs)
		}
	}
	node, _, err := c.Catalog().Node("ext", nil)
	if err != nil || node == nil || !reflect.DeepEqual(node.Node.Locality, &api.Locality{Region: "us"}) {
		t.Fatalf("node ext: %v %+v", err, node)
	}
}
