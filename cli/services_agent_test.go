package cli

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// writeTestFile writes content to name in a fresh temporary directory.
func writeTestFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// agentServiceIDs lists the IDs of the agent's services, sorted.
func agentServiceIDs(t *testing.T, c *api.Client) []string {
	t.Helper()
	svcs, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range svcs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func TestServicesRegisterFromFlagsAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	client := agenttest.Client(t, addr)

	step{args: args("services", "register", "-name=web", "-id=web-1", "-address=10.0.0.7", "-port=8080",
		"-tag=v1", "-tag=primary", "-meta=version=1.2=rc", "-meta=team=core",
		"-tagged-address=lan_ipv4=10.0.0.7:8081"),
		stdout: "Registered service: web\n"}.check(t, inv)

	svc, _, err := client.Agent().Service("web-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Service != "web" || svc.Address != "10.0.0.7" || svc.Port != 8080 {
		t.Errorf("registered service: %+v", svc)
	}
	if want := []string{"v1", "primary"}; !reflect.DeepEqual(svc.Tags, want) {
		t.Errorf("tags %q, want %q", svc.Tags, want)
	}
	if want := map[string]string{"version": "1.2=rc", "team": "core"}; !reflect.DeepEqual(svc.Meta, want) {
		t.Errorf("meta %v, want %v", svc.Meta, want)
	}
	if ta := svc.TaggedAddresses["lan_ipv4"]; ta.Address != "10.0.0.7" || ta.Port != 8081 {
		t.Errorf("tagged addresses %+v", svc.TaggedAddresses)
	}

	// The ID defaults to the name.
	step{args: args("services", "register", "-name=db"), stdout: "Registered service: db\n"}.check(t, inv)
	if ids := agentServiceIDs(t, client); !reflect.DeepEqual(ids, []string{"db", "web-1"}) {
		t.Errorf("agent services %q", ids)
	}

	// Registration reaches the catalog before the command returns.
	step{args: args("catalog", "services"), stdout: "consul\ndb\nweb\n"}.check(t, inv)
	instances, _, err := client.Catalog().Service("web", "", nil)
	if err != nil || len(instances) != 1 || instances[0].ServiceID != "web-1" || instances[0].ServicePort != 8080 {
		t.Errorf("catalog instances of web: %+v, %v", instances, err)
	}

	for _, s := range []step{
		{args: args("services", "deregister", "-id=web-1"), stdout: "Deregistered service: web-1\n"},
		{args: args("catalog", "services"), stdout: "consul\ndb\n"},
		{args: args("services", "deregister", "-id=web-1"), code: 1,
			stderrPfx: `Error deregistering service "web-1": Unexpected response code: 404 (`},
	} {
		s.check(t, inv)
	}
	if ids := agentServiceIDs(t, client); !reflect.DeepEqual(ids, []string{"db"}) {
		t.Errorf("agent services after deregistration %q", ids)
	}
}

func TestServicesRegisterFromFilesAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	client := agenttest.Client(t, addr)

	// A "services" list in JSON, in the API's CamelCase spelling.
	jsonFile := writeTestFile(t, "api.json", `{
  "services": [
    {"Name": "api", "ID": "api-1", "Port": 9001, "Tags": ["blue"],
     "Check": {"CheckID": "api-1-ttl", "TTL": "30s", "DeregisterCriticalServiceAfter": "90m"}},
    {"name": "api", "id": "api-2", "port": 9002, "tags": ["green"]}
  ]
}`)
	// A "service" block in HCL, in the documented snake_case spelling.
	hclFile := writeTestFile(t, "cache.hcl", `
service {
  name = "cache"
  id   = "cache-1"
  port = 6379
  tags = ["lru"]
  meta {
    tier = "memory"
  }
  check {
    id  = "cache-ttl"
    ttl = "10s"
  }
}
`)

	step{args: args("services", "register", jsonFile), stdout: "Registered service: api\nRegistered service: api\n"}.check(t, inv)
	step{args: args("services", "register", hclFile), stdout: "Registered service: cache\n"}.check(t, inv)

	svcs, err := client.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]struct {
		name string
		port int
		tags []string
	}{"api-1": {"api", 9001, []string{"blue"}}, "api-2": {"api", 9002, []string{"green"}}, "cache-1": {"cache", 6379, []string{"lru"}}} {
		got := svcs[id]
		if got == nil || got.Service != want.name || got.Port != want.port || !reflect.DeepEqual(got.Tags, want.tags) {
			t.Errorf("service %s: %+v, want %+v", id, got, want)
		}
	}
	if got := svcs["cache-1"]; got == nil || got.Meta["tier"] != "memory" {
		t.Errorf("cache-1 meta: %+v", got)
	}
	checks, err := client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	for id, svc := range map[string]string{"api-1-ttl": "api-1", "cache-ttl": "cache-1"} {
		if c := checks[id]; c == nil || c.ServiceID != svc || c.Type != "ttl" {
			t.Errorf("check %s: %+v", id, c)
		}
	}

	step{args: args("catalog", "services", "-tags"), stdout: "" +
		"api         blue,green\n" +
		"cache       lru\n" +
		"consul\n"}.check(t, inv)

	// Deregistering from the same files removes exactly those services.
	step{args: args("services", "deregister", jsonFile, hclFile), stdout: "" +
		"Deregistered service: api-1\nDeregistered service: api-2\nDeregistered service: cache-1\n"}.check(t, inv)
	if ids := agentServiceIDs(t, client); len(ids) != 0 {
		t.Errorf("agent services after deregistration %q", ids)
	}
	step{args: args("catalog", "services"), stdout: "consul\n"}.check(t, inv)

	// A service without an ID is deregistered by its name.
	noID := writeTestFile(t, "noid.json", `{"service": {"name": "plain"}}`)
	step{args: args("services", "register", noID), stdout: "Registered service: plain\n"}.check(t, inv)
	step{args: args("services", "deregister", noID), stdout: "Deregistered service: plain\n"}.check(t, inv)
}

func TestServicesArgumentErrors(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	client := agenttest.Client(t, addr)

	good := writeTestFile(t, "good.json", `{"service": {"name": "good"}}`)
	badJSON := writeTestFile(t, "bad.json", `{"service": {"name": "bad",}}`)
	badHCL := writeTestFile(t, "bad.hcl", `service { name = "bad" `)
	noName := writeTestFile(t, "noname.json", `{"service": {"id": "anon", "port": 80}}`)
	badCheck := writeTestFile(t, "badcheck.json", `{"service": {"name": "x", "check": {"ttl": "soon"}}}`)
	missing := filepath.Join(t.TempDir(), "missing.json")

	for _, s := range []step{
		{args: args("services", "register"), code: 1,
			stderr: "Service registration requires at least one argument or flags.\n"},
		{args: args("services", "register", "-id=x", "-port=80"), code: 1,
			stderr: "Service registration requires at least one argument or flags.\n"},
		{args: args("services", "register", "-name=x", good), code: 1,
			stderr: "Service registration requires arguments or -id, not both.\n"},
		{args: args("services", "register", missing), code: 1, stderrPfx: "Error: "},
		{args: args("services", "register", badJSON), code: 1, stderrPfx: "Error: "},
		{args: args("services", "register", badHCL), code: 1, stderrPfx: "Error: "},
		{args: args("services", "register", noName), code: 1, stderrPfx: "Error: "},
		{args: args("services", "register", badCheck), code: 1,
			stderr: "Error: service \"x\": invalid check: invalid duration \"soon\"\n"},
		{args: args("services", "register", "-name=x", "-meta=novalue"), code: 1,
			stderrPfx: `invalid value "novalue" for flag -meta: missing "="`},
		{args: args("services", "register", "-name=x", "-tagged-address=lan=:port"), code: 1,
			stderrPfx: "Invalid Tagged Address: "},
		{args: args("services", "deregister"), code: 1,
			stderr: "Service deregistration requires at least one argument or -id.\n"},
		{args: args("services", "deregister", "-id=x", good), code: 1,
			stderr: "Service deregistration requires arguments or -id, not both.\n"},
		{args: args("services", "deregister", badJSON), code: 1, stderrPfx: "Error: "},
		{args: args("services", "deregister", "-id=no-such-service"), code: 1,
			stderrPfx: `Error deregistering service "no-such-service": Unexpected response code: 404 (`},
		{args: args("services", "deregister", good), code: 1,
			stderrPfx: `Error deregistering service "good": Unexpected response code: 404 (`},
	} {
		s.check(t, inv)
	}
	// None of the failures registered anything.
	if ids := agentServiceIDs(t, client); len(ids) != 0 {
		t.Errorf("agent services %q", ids)
	}
}

// Every command reports an agent it cannot reach with Consul's message for
// the operation that failed, and exit code 1.
func TestServiceCommandsUnreachableAgent(t *testing.T) {
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": closedPortAddr(t)}}
	for _, s := range []step{
		{args: args("services", "register", "-name=web"), code: 1, stderrPfx: `Error registering service "web": `},
		{args: args("services", "deregister", "-id=web"), code: 1, stderrPfx: `Error deregistering service "web": `},
		{args: args("catalog", "datacenters"), code: 1, stderrPfx: "Error listing datacenters: "},
		{args: args("catalog", "nodes"), code: 1, stderrPfx: "Error listing nodes: "},
		{args: args("catalog", "nodes", "-service=web"), code: 1, stderrPfx: "Error listing nodes for service: "},
		{args: args("catalog", "services"), code: 1, stderrPfx: "Error listing services: "},
		{args: args("catalog", "services", "-node=n1"), code: 1, stderrPfx: "Error listing services for node: "},
		{args: args("maint"), code: 1, stderrPfx: "Error querying Consul agent: "},
		{args: args("maint", "-enable"), code: 1, stderrPfx: "Error querying Consul agent: "},
		{args: args("reload"), code: 1, stderrPfx: "Error reloading: "},
	} {
		s.check(t, inv)
	}
}

// closedPortAddr is a loopback address where nothing listens.
func closedPortAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
