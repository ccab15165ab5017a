package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

func membersOf(t *testing.T, c *api.Client) map[string]*api.AgentMember {
	t.Helper()
	list, err := c.Agent().Members(false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*api.AgentMember{}
	for _, m := range list {
		out[m.Name] = m
	}
	return out
}

func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two agents join through /v1/agent/join, list each other, and see a
// graceful leave as "left".
func TestGossipJoinAndLeave(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=alpha")
	b := agenttest.Start(t, "-dev", "-node=beta")
	ca, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	cb, _ := api.NewClient(&api.Config{Address: b.HTTPAddr()})

	self := membersOf(t, ca)["alpha"]
	if self == nil || self.Tags["role"] != "consul" || self.Tags["dc"] != "dc1" {
		t.Fatalf("alpha's own member entry: %+v", self)
	}
	if err := cb.Agent().Join(fmt.Sprintf("%s:%d", self.Addr, self.Port), false); err != nil {
		t.Fatal(err)
	}
	until(t, "both agents list both", func() bool {
		return len(membersOf(t, ca)) == 2 && len(membersOf(t, cb)) == 2
	})
	if err := cb.Agent().Leave(); err != nil {
		t.Fatal(err)
	}
	until(t, "alpha sees beta as left", func() bool {
		m := membersOf(t, ca)["beta"]
		return m != nil && m.Status == 3
	})
	err := ca.Agent().ForceLeave("nobody")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("force-leave of an unknown node: %v", err)
	}
}
