package cli

import (
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// The agent's node and an external node with metadata, as in Consul's
// documentation examples; fixed names and IDs make the tables exact.
const (
	catalogTestNodeID = "1b662d97-8b5c-3cc2-0ac0-96f55ad423b5"
	catalogExtNodeID  = "d407a592-e93c-4d8e-8a6d-aba853d1e067"
)

// startCatalogAgent starts a dev agent named worker-01, registers "web" on
// it through the CLI (which also puts the node in the catalog before the
// command returns), and registers a second node, ext-node, running "redis",
// directly in the catalog.
func startCatalogAgent(t *testing.T) (invocation, *api.Client) {
	t.Helper()
	addr := agenttest.Start(t, "-dev", "-node=worker-01", "-node-id="+catalogTestNodeID).HTTPAddr()
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	client := agenttest.Client(t, addr)

	step{args: args("services", "register", "-name=web", "-port=80", "-tag=v2", "-tag=canary"),
		stdout: "Registered service: web\n"}.check(t, inv)
	_, err := client.Catalog().Register(&api.CatalogRegistration{
		ID: catalogExtNodeID, Node: "ext-node", Address: "10.4.4.158",
		TaggedAddresses: map[string]string{"wan": "198.51.100.7", "lan": "10.4.4.158"},
		NodeMeta:        map[string]string{"rack": "r1", "env": "prod"},
		Service:         &api.AgentService{ID: "redis-1", Service: "redis", Tags: []string{"v1", "primary"}, Port: 6379},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return inv, client
}

func TestCatalogAgainstAgent(t *testing.T) {
	inv, _ := startCatalogAgent(t)

	nodesTable := "" +
		"Node       ID        Address     DC\n" +
		"ext-node   d407a592  10.4.4.158  dc1\n" +
		"worker-01  1b662d97  127.0.0.1   dc1\n"
	extOnly := "" +
		"Node      ID        Address     DC\n" +
		"ext-node  d407a592  10.4.4.158  dc1\n"
	workerOnly := "" +
		"Node       ID        Address    DC\n" +
		"worker-01  1b662d97  127.0.0.1  dc1\n"
	noNodes := "No nodes match the given query - try expanding your search.\n"
	noServices := "No services match the given query - try expanding your search.\n"

	for _, s := range []step{
		{args: args("catalog", "datacenters"), stdout: "dc1\n"},
		{args: args("catalog", "datacenters", "extra"), code: 1, stderr: "Too many arguments (expected 0, got 1)\n"},

		{args: args("catalog", "nodes"), stdout: nodesTable},
		{args: args("catalog", "nodes", "-service=redis"), stdout: extOnly},
		{args: args("catalog", "nodes", "-service=web"), stdout: workerOnly},
		{args: args("catalog", "nodes", "-service=absent"), stderr: noNodes},
		{args: args("catalog", "nodes", "-node-meta=rack=r1"), stdout: extOnly},
		{args: args("catalog", "nodes", "-node-meta=rack=r1", "-node-meta=env=prod"), stdout: extOnly},
		{args: args("catalog", "nodes", "-node-meta=rack=r2"), stderr: noNodes},
		{args: args("catalog", "nodes", `-filter=Node == "worker-01"`), stdout: workerOnly},
		{args: args("catalog", "nodes", "-filter", "-"), stdin: `Meta.rack == "r1"`, stdout: extOnly},
		{args: args("catalog", "nodes", "-filter=Node ==="), code: 1, stderrPfx: "Error listing nodes: Unexpected response code: 400"},
		{args: args("catalog", "nodes", "-filter=@/nonexistent/filter"), code: 1, stderrPfx: "Could not process filter argument: "},
		{args: args("catalog", "nodes", "worker-01"), code: 1, stderr: "Too many arguments (expected 0, got 1)\n"},
		{args: args("catalog", "nodes", "-node-meta=rack"), code: 1, stderrPfx: `invalid value "rack" for flag -node-meta: `},

		{args: args("catalog", "services"), stdout: "consul\nredis\nweb\n"},
		// Tags are sorted; a service without tags keeps the column padding,
		// except on the last line, which Consul trims.
		{args: args("catalog", "services", "-tags"), stdout: "" +
			"consul      \n" +
			"redis       primary,v1\n" +
			"web         canary,v2\n"},
		{args: args("catalog", "services", "-node=ext-node"), stdout: "redis\n"},
		{args: args("catalog", "services", "-node=worker-01", "-tags"), stdout: "" +
			"consul      \n" +
			"web         canary,v2\n"},
		{args: args("catalog", "services", "-node-meta=rack=r1"), stdout: "redis\n"},
		{args: args("catalog", "services", "-node=absent"), stderr: noServices},
		{args: args("catalog", "services", "web"), code: 1, stderr: "Too many arguments (expected 0, got 1)\n"},
	} {
		s.check(t, inv)
	}
}

func TestCatalogNodesDetailedAgainstAgent(t *testing.T) {
	inv, client := startCatalogAgent(t)

	// The agent's own tagged addresses and metadata are the agent's
	// business; read them to build the expected row.
	self, _, err := client.Catalog().Node("worker-01", nil)
	if err != nil || self == nil {
		t.Fatalf("catalog node worker-01: %v, %v", self, err)
	}
	if self.Node.TaggedAddresses["lan"] != "127.0.0.1" {
		t.Fatalf("agent node tagged addresses: %v", self.Node.TaggedAddresses)
	}
	selfTagged := sortedPairs(self.Node.TaggedAddresses, ", ")
	selfMeta := sortedPairs(self.Node.Meta, ", ")

	extTagged := "lan=10.4.4.158, wan=198.51.100.7"
	width := max(len("TaggedAddresses"), len(extTagged), len(selfTagged))
	pad := func(s string) string { return s + strings.Repeat(" ", width-len(s)) }
	want := "" +
		"Node       ID                                    Address     DC   " + pad("TaggedAddresses") + "  Meta\n" +
		"ext-node   d407a592-e93c-4d8e-8a6d-aba853d1e067  10.4.4.158  dc1  " + pad(extTagged) + "  env=prod, rack=r1\n" +
		"worker-01  1b662d97-8b5c-3cc2-0ac0-96f55ad423b5  127.0.0.1   dc1  " + pad(selfTagged) + "  " + selfMeta + "\n"
	step{args: args("catalog", "nodes", "-detailed"), stdout: want}.check(t, inv)

	// Only the listed nodes set the column widths.
	step{args: args("catalog", "nodes", "-detailed", "-service=redis"), stdout: "" +
		"Node      ID                                    Address     DC   TaggedAddresses                   Meta\n" +
		"ext-node  d407a592-e93c-4d8e-8a6d-aba853d1e067  10.4.4.158  dc1  lan=10.4.4.158, wan=198.51.100.7  env=prod, rack=r1\n",
	}.check(t, inv)
}

// HERALD_HTTP_ADDR and CONSUL_HTTP_ADDR reach these commands as they reach
// the kv ones, and the CLI behaves the same when invoked as "consul".
func TestCatalogEnvAndProg(t *testing.T) {
	addr := agenttest.StartDev(t)
	dead := closedPortAddr(t)
	for _, inv := range []invocation{
		{env: map[string]string{"HERALD_HTTP_ADDR": addr, "CONSUL_HTTP_ADDR": dead}},
		{prog: "consul", env: map[string]string{"CONSUL_HTTP_ADDR": addr}},
		{env: map[string]string{"CONSUL_HTTP_ADDR": "http://" + addr}},
	} {
		step{args: args("catalog", "datacenters"), stdout: "dc1\n"}.check(t, inv)
		step{args: args("reload"), stdout: "Configuration reload triggered\n"}.check(t, inv)
	}
	step{args: args("catalog", "datacenters", "-http-addr="+addr), stdout: "dc1\n"}.check(t,
		invocation{env: map[string]string{"CONSUL_HTTP_ADDR": dead}})
}
