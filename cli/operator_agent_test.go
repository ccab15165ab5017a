package cli_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/coordinate"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// get-config prints Consul's lines; set-config changes only what its
// options name, with a CAS on what it read.
func TestOperatorAutopilotConfigCommands(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-node=ap")
	addr := "-http-addr=" + a.HTTPAddr()
	out, errOut, code := runCLI("operator", "autopilot", "get-config", addr)
	if code != 0 {
		t.Fatalf("get-config: %d %s", code, errOut)
	}
	want := "CleanupDeadServers = true\nLastContactThreshold = 200ms\nMaxTrailingLogs = 250\nMinQuorum = 0\n" +
		"ServerStabilizationTime = 10s\nRedundancyZoneTag = \"\"\nDisableUpgradeMigration = false\nUpgradeVersionTag = \"\"\n"
	if out != want {
		t.Fatalf("get-config:\n%s\nwant:\n%s", out, want)
	}
	out, errOut, code = runCLI("operator", "autopilot", "set-config", addr, "-min-quorum=3",
		"-cleanup-dead-servers=false", "-last-contact-threshold=1s")
	if code != 0 || out != "Configuration updated!\n" {
		t.Fatalf("set-config: %d %q %q", code, out, errOut)
	}
	out, _, _ = runCLI("operator", "autopilot", "get-config", addr)
	for _, line := range []string{"CleanupDeadServers = false", "MinQuorum = 3", "LastContactThreshold = 1s", "MaxTrailingLogs = 250"} {
		if !strings.Contains(out, line+"\n") {
			t.Fatalf("after set-config, no %q in:\n%s", line, out)
		}
	}
	if _, errOut, code = runCLI("operator", "autopilot", "set-config", addr, "-min-quorum=x"); code == 0 {
		t.Fatalf("set-config with a bad number succeeded: %s", errOut)
	}

	out, errOut, code = runCLI("operator", "autopilot", "state", addr)
	if code != 0 || !strings.Contains(out, "Healthy:                      true") ||
		!strings.Contains(out, "      Name:            ap\n") || !strings.Contains(out, "      Status:          leader\n") {
		t.Fatalf("state: %d %s %s", code, out, errOut)
	}
	out, _, code = runCLI("operator", "autopilot", "state", addr, "-format=json")
	if code != 0 || !strings.Contains(out, `"Healthy": true`) {
		t.Fatalf("state -format=json: %d %s", code, out)
	}

	if _, errOut, code = runCLI("operator", "raft", "transfer-leader", addr); code != 1 ||
		!strings.Contains(errOut, "Error transfering leadership") || !strings.Contains(errOut, "no other voter") {
		t.Fatalf("transfer-leader alone: %d %s", code, errOut)
	}
}

func TestOperatorUsageInstances(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=u")
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "n1", Address: "10.0.0.1",
		Service: &api.AgentService{ID: "web", Service: "web"}}, nil); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI("operator", "usage", "instances", "-http-addr="+a.HTTPAddr())
	if code != 0 || !strings.HasPrefix(out, "Billable Service Instances Total: 1\ndc1 Billable Service Instances: 1\n\n"+
		"Billable Services\nServices      Service instances\n2             1\n\nConnect Services\nType ") ||
		!regexp.MustCompile(`(?m)^connect-proxy\s+0$`).MatchString(out) {
		t.Fatalf("usage instances: %d\n%s%s", code, out, errOut)
	}
	out, _, code = runCLI("operator", "usage", "instances", "-connect", "-http-addr="+a.HTTPAddr())
	if code != 0 || !strings.HasPrefix(out, "Connect Services\n") {
		t.Fatalf("usage instances -connect: %d\n%s", code, out)
	}
	if _, errOut, code = runCLI("operator", "usage", "instances", "-connect", "-billable", "-http-addr="+a.HTTPAddr()); code != 1 ||
		!strings.Contains(errOut, "Cannot specify both") {
		t.Fatalf("-connect -billable: %d %q", code, errOut)
	}
}

// rtt prints Consul's estimate line for two nodes, and for one node
// against the agent's own.
func TestRTT(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=origin")
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "far", Address: "10.0.0.1"}, nil); err != nil {
		t.Fatal(err)
	}
	for node, x := range map[string]float64{"origin": 0, "far": 0.0005} {
		coord := coordinate.NewCoordinate(coordinate.DefaultConfig())
		coord.Vec[0] = x
		if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: node, Coord: coord}, nil); err != nil {
			t.Fatal(err)
		}
	}
	addr := "-http-addr=" + a.HTTPAddr()
	// 0.5 ms apart, plus both heights (10 µs each).
	out, errOut, code := runCLI("rtt", addr, "origin", "far")
	if code != 0 || out != "Estimated origin <-> far rtt: 0.520 ms (using LAN coordinates)\n" {
		t.Fatalf("rtt origin far: %d %q %q", code, out, errOut)
	}
	out, _, code = runCLI("rtt", addr, "far")
	if code != 0 || out != "Estimated far <-> origin rtt: 0.520 ms (using LAN coordinates)\n" {
		t.Fatalf("rtt far: %d %q", code, out)
	}
	// -wan: the servers' coordinates, named node.datacenter; "far" is
	// not a server.
	out, errOut, code = runCLI("rtt", "-wan", addr, "origin.dc1")
	if code != 0 || out != "Estimated origin.dc1 <-> origin.dc1 rtt: 0.020 ms (using WAN coordinates)\n" {
		t.Fatalf("rtt -wan: %d %q %q", code, out, errOut)
	}
	if _, errOut, code = runCLI("rtt", "-wan", addr, "far.dc1"); code != 1 || !strings.Contains(errOut, `"far.dc1"`) {
		t.Fatalf("rtt -wan far.dc1: %d %q", code, errOut)
	}
	if _, errOut, code = runCLI("rtt", addr, "nobody"); code != 1 || !strings.Contains(errOut, `Could not find a coordinate for node "nobody"`) {
		t.Fatalf("rtt nobody: %d %q", code, errOut)
	}
}

// transfer-leader hands the leadership to the other server and says
// Consul's "Success".
func TestOperatorRaftTransferLeader(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-node=s1")
	ca, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	var join string
	members, err := ca.Agent().Members(false)
	if err != nil || len(members) != 1 {
		t.Fatalf("members: %v %v", members, err)
	}
	join = fmt.Sprintf("-retry-join=%s:%d", members[0].Addr, members[0].Port)
	agenttest.Start(t, "-server", "-data-dir="+t.TempDir(), "-node=s2", join)
	poll.Eventually(t, 30*time.Second, "two healthy voters", func() (bool, string) {
		h, err := ca.Operator().AutopilotServerHealth(nil)
		if err != nil {
			return false, err.Error()
		}
		return h.Healthy && len(h.Servers) == 2, fmt.Sprintf("%+v", h)
	})
	out, errOut, code := runCLI("operator", "raft", "transfer-leader", "-http-addr="+a.HTTPAddr())
	if code != 0 || out != "Success\n" {
		t.Fatalf("transfer-leader: %d %q %q", code, out, errOut)
	}
	out, _, _ = runCLI("operator", "raft", "list-peers", "-http-addr="+a.HTTPAddr())
	if !regexp.MustCompile(`(?m)^s2\s+\S+\s+\S+\s+leader\s`).MatchString(out) {
		t.Fatalf("list-peers after the transfer:\n%s", out)
	}
}
