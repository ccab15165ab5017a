package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

func TestEventAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}

	r := inv.run(t, "event", "-name=deploy", "v1.4.2")
	m := regexp.MustCompile(`^Event ID: ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\n$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || r.stderr != "" {
		t.Fatalf("event: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// The agent fired it to itself too: it is the last event it lists.
	events, _, err := c.Event().List("deploy", nil)
	if err != nil || len(events) != 1 || events[0].ID != m[1] || string(events[0].Payload) != "v1.4.2" {
		t.Fatalf("listed: %+v %v", events, err)
	}

	// Filters travel with the event; this agent has no service web.
	r = inv.run(t, "event", "-name=restart", "-node=.", "-service=^web$", "-tag=canary")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Event ID: ") {
		t.Fatalf("filtered event: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if events, _, err := c.Event().List("restart", nil); err != nil || len(events) != 0 {
		t.Fatalf("an agent without the service kept the event: %+v %v", events, err)
	}

	for _, s := range []step{
		{args: args("event", "v1"), code: 1, stderr: "An event name must be given with -name\n"},
		{args: args("event", "-name=x", "-node=("), code: 1, stderrPfx: "The node filter is not a valid regexp: "},
		{args: args("event", "-name=x", "-service=web", "-tag=["), code: 1, stderrPfx: "The tag filter is not a valid regexp: "},
		{args: args("event", "-name=x", "-tag=v1"), code: 1, stderr: "A tag filter (-tag) needs a service filter (-service)\n"},
		{args: args("event", "-name=x", "a", "b"), code: 1, stderrPfx: "Too many arguments (expected at most a payload, got 2)\n\nUsage: herald event"},
		{args: args("event", "-name=x", strings.Repeat("p", 600)), code: 1, stderrPfx: "Error firing event: Unexpected response code: 500 (user event too large"},
		{args: args("event", "-bogus"), code: 1, stderrPfx: "flag provided but not defined: -bogus"},
	} {
		s.check(t, inv)
	}
	if events, _, _ := c.Event().List("", nil); len(events) != 1 {
		t.Fatalf("refused events were kept: %d events", len(events))
	}

	down := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": "127.0.0.1:1"}}
	step{args: args("event", "-name=x"), code: 1, stderrPfx: "Error querying the agent: "}.check(t, down)
}
