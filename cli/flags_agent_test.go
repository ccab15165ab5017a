package cli

import (
	"reflect"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/coordinate"
)

// -near orders the nodes by estimated round-trip time from the named node,
// and the CLI keeps that order rather than sorting by name.
func TestCatalogNodesNearAgainstAgent(t *testing.T) {
	inv, client := startCatalogAgent(t)
	// worker-01 at the origin, ext-node 5 ms away. The agent keeps
	// coordinates given to it over those gossip measures.
	for node, x := range map[string]float64{"worker-01": 0, "ext-node": 0.005} {
		coord := coordinate.NewCoordinate(coordinate.DefaultConfig())
		coord.Vec[0] = x
		if _, err := client.Coordinate().Update(&api.CoordinateEntry{Node: node, Coord: coord}, nil); err != nil {
			t.Fatal(err)
		}
	}

	byName := "" +
		"Node       ID        Address     DC\n" +
		"ext-node   d407a592  10.4.4.158  dc1\n" +
		"worker-01  1b662d97  127.0.0.1   dc1\n"
	workerFirst := "" +
		"Node       ID        Address     DC\n" +
		"worker-01  1b662d97  127.0.0.1   dc1\n" +
		"ext-node   d407a592  10.4.4.158  dc1\n"
	for _, s := range []step{
		{args: args("catalog", "nodes"), stdout: byName},
		{args: args("catalog", "nodes", "-near=worker-01"), stdout: workerFirst},
		{args: args("catalog", "nodes", "-near=_agent"), stdout: workerFirst},
		{args: args("catalog", "nodes", "-near=ext-node"), stdout: byName},
		// With the other filters, and for one service's nodes.
		{args: args("catalog", "nodes", "-near=_agent", "-node-meta=rack=r1"), stdout: "" +
			"Node      ID        Address     DC\n" +
			"ext-node  d407a592  10.4.4.158  dc1\n"},
		{args: args("catalog", "nodes", "-near=_agent", "-service=web"), stdout: "" +
			"Node       ID        Address    DC\n" +
			"worker-01  1b662d97  127.0.0.1  dc1\n"},
	} {
		s.check(t, inv)
	}
}

// -socket registers a service on a Unix socket, as Consul's does.
func TestServicesRegisterSocketAgainstAgent(t *testing.T) {
	inv, client := startCatalogAgent(t)
	step{args: args("services", "register", "-name=sock", "-socket=/run/sock.sock"),
		stdout: "Registered service: sock\n"}.check(t, inv)
	svc, _, err := client.Agent().Service("sock", nil)
	if err != nil || svc.SocketPath != "/run/sock.sock" || svc.Port != 0 || svc.Address != "" {
		t.Fatalf("service sock: %+v, %v", svc, err)
	}

	// A definition file's socket_path is kept too.
	file := writeTestFile(t, "sock.hcl", "service {\n  name = \"filesock\"\n  socket_path = \"/run/file.sock\"\n}\n")
	step{args: args("services", "register", file), stdout: "Registered service: filesock\n"}.check(t, inv)
	svc, _, err = client.Agent().Service("filesock", nil)
	if err != nil || svc.SocketPath != "/run/file.sock" {
		t.Fatalf("service filesock: %+v, %v", svc, err)
	}
}

// Flags given with definition files fill in what the files leave out, as
// Consul's register does.
func TestServicesRegisterFlagsWithFilesAgainstAgent(t *testing.T) {
	inv, client := startCatalogAgent(t)

	// api has no ID, port or address: the flags give them. db has its own,
	// which the flags do not override. Both get the flags' tag, meta and
	// tagged address, over their own under the same key.
	files := writeTestFile(t, "svcs.json", `{"services": [
  {"name": "api", "tags": ["file"], "meta": {"owner": "file", "keep": "yes"}},
  {"name": "db", "id": "db-1", "port": 5432, "address": "10.9.9.9",
   "tagged_addresses": {"lan": {"address": "10.9.9.9", "port": 5432}}}
]}`)
	step{args: args("services", "register", "-id=api-9", "-port=9000", "-address=10.1.1.1",
		"-tag=flag", "-meta=owner=flag", "-tagged-address=lan=10.1.1.1:9001", files),
		stdout: "Registered service: api\nRegistered service: db\n"}.check(t, inv)

	svcs, err := client.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	apiSvc, db := svcs["api-9"], svcs["db-1"]
	if apiSvc == nil || db == nil {
		t.Fatalf("agent services: %v", agentServiceIDs(t, client))
	}
	if apiSvc.Service != "api" || apiSvc.Port != 9000 || apiSvc.Address != "10.1.1.1" {
		t.Errorf("api-9: %+v", apiSvc)
	}
	if want := []string{"file", "flag"}; !reflect.DeepEqual(apiSvc.Tags, want) {
		t.Errorf("api-9 tags %q, want %q", apiSvc.Tags, want)
	}
	if want := map[string]string{"owner": "flag", "keep": "yes"}; !reflect.DeepEqual(apiSvc.Meta, want) {
		t.Errorf("api-9 meta %v, want %v", apiSvc.Meta, want)
	}
	if ta := apiSvc.TaggedAddresses["lan"]; ta.Address != "10.1.1.1" || ta.Port != 9001 {
		t.Errorf("api-9 tagged addresses %+v", apiSvc.TaggedAddresses)
	}
	if db.Port != 5432 || db.Address != "10.9.9.9" || !reflect.DeepEqual(db.Tags, []string{"flag"}) ||
		db.Meta["owner"] != "flag" {
		t.Errorf("db-1: %+v", db)
	}
	if ta := db.TaggedAddresses["lan"]; ta.Address != "10.1.1.1" || ta.Port != 9001 {
		t.Errorf("db-1 tagged addresses %+v", db.TaggedAddresses)
	}

	// -name still cannot go with files, and a bad -tagged-address is
	// reported before the files are read, as in Consul.
	for _, s := range []step{
		{args: args("services", "register", "-name=x", "-port=1", files), code: 1,
			stderr: "Service registration requires arguments or -id, not both.\n"},
		{args: args("services", "register", "-tagged-address=lan=:port", "/nonexistent.json"), code: 1,
			stderrPfx: "Invalid Tagged Address: "},
	} {
		s.check(t, inv)
	}
}
