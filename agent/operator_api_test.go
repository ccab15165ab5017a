package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/coordinate"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// Until a configuration is written, the API shows the config file's
// autopilot block with Consul's defaults for the rest; writes follow
// Consul's CAS rule and the answer is Consul's true or false.
func TestAutopilotConfigurationFallsBackToTheFileAndTakesCAS(t *testing.T) {
	file := filepath.Join(t.TempDir(), "autopilot.hcl")
	if err := os.WriteFile(file, []byte("autopilot {\n  cleanup_dead_servers = false\n  min_quorum = 2\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-node=ap", "-config-file="+file)
	op := agenttest.Client(t, a.HTTPAddr()).Operator()

	conf, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	if conf.CleanupDeadServers || conf.MinQuorum != 2 || conf.MaxTrailingLogs != 250 ||
		conf.LastContactThreshold.Duration() != 200*time.Millisecond || conf.ServerStabilizationTime.Duration() != 10*time.Second ||
		conf.ModifyIndex != 0 {
		t.Fatalf("configuration from the file: %+v", conf)
	}

	conf.MinQuorum = 3
	conf.CleanupDeadServers = true
	conf.ModifyIndex = 7
	if ok, err := op.AutopilotCASConfiguration(conf, nil); err != nil || ok {
		t.Fatalf("CAS with a wrong index: %v, %v", ok, err)
	}
	conf.ModifyIndex = 0
	if ok, err := op.AutopilotCASConfiguration(conf, nil); err != nil || !ok {
		t.Fatalf("CAS over the file's configuration: %v, %v", ok, err)
	}
	written, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !written.CleanupDeadServers || written.MinQuorum != 3 || written.ModifyIndex == 0 || written.CreateIndex != written.ModifyIndex {
		t.Fatalf("written configuration: %+v", written)
	}
	if ok, err := op.AutopilotCASConfiguration(conf, nil); err != nil || ok {
		t.Fatalf("a second CAS at 0: %v, %v", ok, err)
	}
	written.MaxTrailingLogs = 500
	written.LastContactThreshold = api.NewReadableDuration(time.Second)
	if err := op.AutopilotSetConfiguration(written, nil); err != nil {
		t.Fatal(err)
	}
	again, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.MaxTrailingLogs != 500 || again.LastContactThreshold.Duration() != time.Second ||
		again.CreateIndex != written.CreateIndex || again.ModifyIndex <= written.ModifyIndex {
		t.Fatalf("after a plain set: %+v (was %+v)", again, written)
	}

	for _, bad := range []struct{ query, body, want string }{
		{"", "{", "Error parsing autopilot config"},
		{"?cas=x", "{}", "Error parsing cas value"},
	} {
		req, _ := http.NewRequest("PUT", "http://"+a.HTTPAddr()+"/v1/operator/autopilot/configuration"+bad.query, strings.NewReader(bad.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(msg), bad.want) {
			t.Fatalf("PUT %q: %d %q", bad.body, resp.StatusCode, msg)
		}
	}
}

// A lone server is healthy, leads, and tolerates no failure; it has no
// one to hand its leadership to.
func TestAutopilotHealthAndStateOfOneServer(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-node=solo")
	op := agenttest.Client(t, a.HTTPAddr()).Operator()

	health, err := op.AutopilotServerHealth(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !health.Healthy || health.FailureTolerance != 0 || len(health.Servers) != 1 {
		t.Fatalf("health: %+v", health)
	}
	s := health.Servers[0]
	if s.Name != "solo" || !s.Leader || !s.Voter || !s.Healthy || s.SerfStatus != "alive" || s.Version == "" ||
		s.ID == "" || s.LastIndex == 0 || s.LastContact == nil || s.StableSince.IsZero() {
		t.Fatalf("server health: %+v", s)
	}

	state, err := op.AutopilotState(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !state.Healthy || state.Leader != s.ID || len(state.Voters) != 1 || state.Voters[0] != s.ID {
		t.Fatalf("state: %+v", state)
	}
	if sv := state.Servers[s.ID]; sv.Name != "solo" || sv.Status != api.AutopilotServerLeader ||
		sv.NodeType != api.AutopilotTypeVoter || sv.NodeStatus != "alive" || !sv.Healthy {
		t.Fatalf("state's server: %+v", sv)
	}

	if _, err := op.RaftLeaderTransfer("", nil); err == nil || !strings.Contains(err.Error(), "no other voter") {
		t.Fatalf("transfer with one voter: %v", err)
	}
}

// Leadership moves to the server named, then back to the other one when
// none is named; the answer is Consul's {"Success": true}.
func TestRaftLeaderTransferBetweenTwoServers(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-node=s1")
	ca := agenttest.Client(t, a.HTTPAddr())
	self := membersOf(t, ca)["s1"]
	b := agenttest.Start(t, "-server", "-data-dir="+t.TempDir(), "-node=s2",
		fmt.Sprintf("-retry-join=%s:%d", self.Addr, self.Port))
	cb := agenttest.Client(t, b.HTTPAddr())
	op := ca.Operator()

	ids := map[string]string{}
	poll.Eventually(t, 30*time.Second, "both servers are healthy voters", func() (bool, string) {
		h, err := op.AutopilotServerHealth(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range h.Servers {
			ids[s.Name] = s.ID
		}
		return h.Healthy && len(h.Servers) == 2, fmt.Sprintf("%+v", h)
	})
	leaderName := func(c *api.Client) string {
		conf, err := c.Operator().RaftGetConfiguration(nil)
		if err != nil {
			return err.Error()
		}
		for _, s := range conf.Servers {
			if s.Leader {
				return s.Node
			}
		}
		return ""
	}
	if got := leaderName(ca); got != "s1" {
		t.Fatalf("leader before the transfer: %q", got)
	}
	res, err := cb.Operator().RaftLeaderTransfer(ids["s2"], nil)
	if err != nil || !res.Success {
		t.Fatalf("transfer to s2: %+v, %v", res, err)
	}
	if got := leaderName(cb); got != "s2" {
		t.Fatalf("leader after the transfer to s2: %q", got)
	}
	res, err = ca.Operator().RaftLeaderTransfer("", nil)
	if err != nil || !res.Success {
		t.Fatalf("transfer to any other: %+v, %v", res, err)
	}
	if got := leaderName(ca); got != "s1" {
		t.Fatalf("leader after the transfer away from s2: %q", got)
	}
	if _, err := op.RaftLeaderTransfer("no-such-id", nil); err == nil || !strings.Contains(err.Error(), "cannot find peer") {
		t.Fatalf("transfer to an unknown ID: %v", err)
	}
}

// Without gossip encryption, listing or changing keys fails the way
// Consul's does when encryption is not enabled.
func TestKeyringWithoutEncryption(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=kr")
	op := agenttest.Client(t, a.HTTPAddr()).Operator()
	_, err := op.KeyringList(nil)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "dc1 (LAN) error") ||
		!strings.Contains(err.Error(), "kr: Keyring is empty (encryption not enabled)") {
		t.Fatalf("list: %v", err)
	}
	err = op.KeyringInstall("cg8StVXbQJ0gPvMd9o7yrg==", nil)
	if err == nil || !strings.Contains(err.Error(), "No keyring to modify (encryption not enabled)") {
		t.Fatalf("install: %v", err)
	}
}

// With an encrypt key, the keyring lists it, installs a second key, makes
// it primary and removes the first.
func TestKeyringRotation(t *testing.T) {
	first, second := "cg8StVXbQJ0gPvMd9o7yrg==", "4le7SJvfYBxyyGyeBzrZzFQ9JYwq0ShwYsoDzoaPsAU="
	a := agenttest.Start(t, "-dev", "-node=kr", "-encrypt="+first)
	op := agenttest.Client(t, a.HTTPAddr()).Operator()
	keys := func() (map[string]int, map[string]int) {
		t.Helper()
		list, err := op.KeyringList(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Datacenter != "dc1" || list[0].WAN || list[0].NumNodes != 1 {
			t.Fatalf("keyring list: %+v", list)
		}
		return list[0].Keys, list[0].PrimaryKeys
	}
	if all, primary := keys(); all[first] != 1 || primary[first] != 1 || len(all) != 1 {
		t.Fatalf("initial keys %v, primary %v", all, primary)
	}
	if err := op.KeyringInstall(second, nil); err != nil {
		t.Fatal(err)
	}
	if err := op.KeyringUse(second, nil); err != nil {
		t.Fatal(err)
	}
	if err := op.KeyringRemove(first, nil); err != nil {
		t.Fatal(err)
	}
	if all, primary := keys(); all[second] != 1 || primary[second] != 1 || len(all) != 1 {
		t.Fatalf("rotated keys %v, primary %v", all, primary)
	}
}

// Two agents see each other's Serf coordinates; /v1/coordinate/update sets
// one; unknown nodes are 404s.
func TestCoordinatesFromGossip(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=alpha")
	b := agenttest.Start(t, "-dev", "-node=beta")
	ca, cb := agenttest.Client(t, a.HTTPAddr()), agenttest.Client(t, b.HTTPAddr())
	self := membersOf(t, ca)["alpha"]
	if err := cb.Agent().Join(fmt.Sprintf("%s:%d", self.Addr, self.Port), false); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "alpha has both nodes' coordinates", func() (bool, string) {
		list, _, err := ca.Coordinate().Nodes(nil)
		if err != nil {
			return false, err.Error()
		}
		return len(list) == 2 && list[0].Node == "alpha" && list[1].Node == "beta" && len(list[1].Coord.Vec) == 8,
			fmt.Sprintf("%+v", list)
	})
	dcs, err := ca.Coordinate().Datacenters()
	if err != nil {
		t.Fatal(err)
	}
	if len(dcs) != 1 || dcs[0].Datacenter != "dc1" || len(dcs[0].Coordinates) != 2 {
		t.Fatalf("datacenters: %+v", dcs)
	}
	if _, _, err := ca.Coordinate().Node("nobody", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("coordinate of an unknown node: %v", err)
	}

	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c.Vec[0] = 0.25
	if _, err := ca.Coordinate().Update(&api.CoordinateEntry{Node: "beta", Coord: c}, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := ca.Coordinate().Node("beta", nil)
	if err != nil || len(got) != 1 || got[0].Coord.Vec[0] != 0.25 {
		t.Fatalf("updated coordinate: %+v, %v", got, err)
	}
	if _, err := ca.Coordinate().Update(&api.CoordinateEntry{Node: "beta", Coord: &coordinate.Coordinate{Vec: []float64{1}}}, nil); err == nil {
		t.Fatal("a coordinate of the wrong dimension was accepted")
	}
	if _, err := ca.Coordinate().Update(&api.CoordinateEntry{Node: "nobody", Coord: c}, nil); err != nil {
		t.Fatalf("an update for an unknown node: %v", err)
	}
	if _, _, err := ca.Coordinate().Node("nobody", nil); err == nil {
		t.Fatal("an unknown node's coordinate was kept")
	}
	if sc := selfCoord(t, ca); sc == nil || len(sc.Vec) != 8 {
		t.Fatalf("agent/self Coord: %+v", sc)
	}
}

func selfCoord(t *testing.T, c *api.Client) *coordinate.Coordinate {
	t.Helper()
	var self struct{ Coord *coordinate.Coordinate }
	if _, err := c.Raw().Query("/v1/agent/self", &self, nil); err != nil {
		t.Fatal(err)
	}
	return self.Coord
}

// ?near sorts catalog nodes, a service's catalog entries, its health
// entries and checks by estimated round trip from the node named (_agent: the
// agent's), nearest first.
func TestNearSortsByRoundTrip(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=origin")
	c := agenttest.Client(t, a.HTTPAddr())
	place := map[string]float64{"origin": 0, "n1": 0.30, "n2": 0.10, "n3": 0.20}
	for node, x := range place {
		if node != "origin" {
			_, err := c.Catalog().Register(&api.CatalogRegistration{Node: node, Address: "10.0.0.1",
				Service: &api.AgentService{ID: "web", Service: "web", Port: 80},
				Check:   &api.AgentCheck{Node: node, CheckID: "alive", Name: "alive", Status: "passing"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		coord := coordinate.NewCoordinate(coordinate.DefaultConfig())
		coord.Vec[0] = x
		if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: node, Coord: coord}, nil); err != nil {
			t.Fatal(err)
		}
	}
	nodes, _, err := c.Catalog().Nodes(&api.QueryOptions{Near: "_agent"})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, n := range nodes {
		order = append(order, n.Node)
	}
	if strings.Join(order, ",") != "origin,n2,n3,n1" {
		t.Fatalf("catalog nodes near _agent: %v", order)
	}
	plain, _, _ := c.Catalog().Nodes(nil)
	if plain[0].Node != "n1" {
		t.Fatalf("catalog nodes without ?near are by name: %v", plain)
	}

	entries, _, err := c.Catalog().Service("web", "", &api.QueryOptions{Near: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	order = nil
	for _, e := range entries {
		order = append(order, e.Node)
	}
	if strings.Join(order, ",") != "n1,n3,n2" {
		t.Fatalf("catalog service near n1: %v", order)
	}
	health, _, err := c.Health().Service("web", "", false, &api.QueryOptions{Near: "n2"})
	if err != nil {
		t.Fatal(err)
	}
	order = nil
	for _, e := range health {
		order = append(order, e.Node.Node)
	}
	if strings.Join(order, ",") != "n2,n3,n1" {
		t.Fatalf("health service near n2: %v", order)
	}
	checks, _, err := c.Health().State("any", &api.QueryOptions{Near: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	order = nil
	for _, ch := range checks {
		order = append(order, ch.Node)
	}
	if strings.Join(order, ",") != "n1,n3,n2,origin" {
		t.Fatalf("health state near n1: %v", order)
	}
}

// /v1/operator/usage counts the catalog: the servers' consul service is
// not billable.
func TestOperatorUsage(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=u")
	c := agenttest.Client(t, a.HTTPAddr())
	for _, node := range []string{"n1", "n2"} {
		_, err := c.Catalog().Register(&api.CatalogRegistration{Node: node, Address: "10.0.0.1",
			Service: &api.AgentService{ID: "web", Service: "web", Port: 80}}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	usage, _, err := c.Operator().Usage(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := usage.Usage["dc1"]
	if !ok || u.Nodes != 3 || u.Services != 2 || u.ServiceInstances != 3 || u.BillableServiceInstances != 2 ||
		u.ConnectServiceInstances["connect-proxy"] != 0 || len(u.ConnectServiceInstances) == 0 {
		t.Fatalf("usage: %+v", usage.Usage)
	}
}
