package cli

import (
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// passingInstances counts the instances of a service that healthy-only
// queries return, which maintenance mode must take out.
func passingInstances(t *testing.T, c *api.Client, service string) int {
	t.Helper()
	entries, _, err := c.Health().Service(service, "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestMaintAgainstAgent(t *testing.T) {
	addr := agenttest.Start(t, "-dev", "-node=worker-01").HTTPAddr()
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	client := agenttest.Client(t, addr)

	nodeDefault := "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
	nodeBlock := "Node:\n  Name:   worker-01\n  Reason: " + nodeDefault + "\n\n"
	webBlock := "Service:\n  ID:     web-1\n  Reason: deploy v2\n\n"

	for _, s := range []step{
		{args: args("services", "register", "-name=web", "-id=web-1"), stdout: "Registered service: web\n"},
		{args: args("services", "register", "-name=web", "-id=web-2"), stdout: "Registered service: web\n"},
		// Nothing in maintenance: nothing printed.
		{args: args("maint"), stdout: ""},
	} {
		s.check(t, inv)
	}
	if n := passingInstances(t, client, "web"); n != 2 {
		t.Fatalf("passing instances of web before maintenance: %d", n)
	}

	step{args: args("maint", "-enable", "-service=web-1", "-reason=deploy v2"),
		stdout: "Service maintenance is now enabled for \"web-1\"\n"}.check(t, inv)
	step{args: args("maint"), stdout: webBlock}.check(t, inv)
	checks, err := client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if c := checks["_service_maintenance:web-1"]; c == nil || c.Status != api.HealthCritical || c.Notes != "deploy v2" {
		t.Errorf("service maintenance check: %+v", c)
	}
	if n := passingInstances(t, client, "web"); n != 1 {
		t.Errorf("passing instances of web with web-1 in maintenance: %d", n)
	}

	for _, s := range []step{
		{args: args("maint", "-enable"), stdout: "Node maintenance is now enabled\n"},
		{args: args("maint"), stdout: nodeBlock + webBlock},
		{args: args("maint", "-enable", "-service=web-2"), stdout: "Service maintenance is now enabled for \"web-2\"\n"},
		{args: args("maint"), stdout: nodeBlock + webBlock +
			"Service:\n  ID:     web-2\n  Reason: Maintenance mode is enabled for this service, but no reason was provided. This is a default message.\n\n"},
		{args: args("maint", "-disable", "-service=web-2"), stdout: "Service maintenance is now disabled for \"web-2\"\n"},
		{args: args("maint", "-disable", "-service=web-1"), stdout: "Service maintenance is now disabled for \"web-1\"\n"},
		{args: args("maint"), stdout: nodeBlock},
	} {
		s.check(t, inv)
	}
	// The node is still in maintenance, so no instance is healthy.
	if n := passingInstances(t, client, "web"); n != 0 {
		t.Errorf("passing instances of web with the node in maintenance: %d", n)
	}

	for _, s := range []step{
		{args: args("maint", "-disable"), stdout: "Node maintenance is now disabled\n"},
		{args: args("maint"), stdout: ""},
		// Disabling what is not enabled is not an error.
		{args: args("maint", "-disable"), stdout: "Node maintenance is now disabled\n"},
		{args: args("maint", "-enable", "-reason=rack move"), stdout: "Node maintenance is now enabled\n"},
		{args: args("maint"), stdout: "Node:\n  Name:   worker-01\n  Reason: rack move\n\n"},
		{args: args("maint", "-disable"), stdout: "Node maintenance is now disabled\n"},
	} {
		s.check(t, inv)
	}
	if n := passingInstances(t, client, "web"); n != 2 {
		t.Errorf("passing instances of web after maintenance: %d", n)
	}
}

func TestMaintErrors(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	for _, s := range []step{
		{args: args("maint", "-enable", "-disable"), code: 1, stderr: "Only one of -enable or -disable may be provided\n"},
		{args: args("maint", "-reason=x"), code: 1, stderr: "Reason may only be provided with -enable\n"},
		{args: args("maint", "-disable", "-reason=x"), code: 1, stderr: "Reason may only be provided with -enable\n"},
		{args: args("maint", "-service=web"), code: 1, stderr: "Service requires either -enable or -disable\n"},
		{args: args("maint", "-enable", "-service=absent"), code: 1,
			stderrPfx: "Error enabling service maintenance: Unexpected response code: 404 ("},
		{args: args("maint", "-disable", "-service=absent"), code: 1,
			stderrPfx: "Error disabling service maintenance: Unexpected response code: 404 ("},
		{args: args("maint"), stdout: ""},
	} {
		s.check(t, inv)
	}
}
