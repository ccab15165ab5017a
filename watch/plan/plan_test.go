package plan_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/watch/plan"
)

func TestKeyWatch(t *testing.T) {
	c := startAgent(t)
	put(t, c, "a/b", "v1")
	r := start(t, c, mustParse(t, map[string]any{"type": "key", "key": "a/b"}))

	first := decode[*api.KVPair](t, r.fires(t, 1)[0])
	if first == nil || string(first.Value) != "v1" {
		t.Fatalf("first run: %+v", first)
	}
	if u := r.snapshot()[0]; u.Type != "key" || u.Index == 0 {
		t.Errorf("first update: type %q index %d", u.Type, u.Index)
	}

	// A sibling changing is not a change of a/b; a/b changing is.
	put(t, c, "a/c", "x")
	put(t, c, "a/bc", "x")
	put(t, c, "a/b", "v2")
	got := r.fires(t, 2)
	if kv := decode[*api.KVPair](t, got[1]); kv == nil || string(kv.Value) != "v2" {
		t.Fatalf("second run: %s", got[1].JSON)
	}
	r.exactly(t, 2)

	// The same value written again moves the entry's ModifyIndex: the
	// entry changed, so the handler runs, as Consul's does.
	put(t, c, "a/b", "v2")
	got = r.fires(t, 3)
	prev, now := decode[*api.KVPair](t, got[1]), decode[*api.KVPair](t, got[2])
	if string(now.Value) != "v2" || now.ModifyIndex <= prev.ModifyIndex {
		t.Fatalf("rewrite: before %+v, after %+v", prev, now)
	}
	r.exactly(t, 3)

	// Deleting the key hands out null.
	if _, err := c.KV().Delete("a/b", nil); err != nil {
		t.Fatal(err)
	}
	if got := r.fires(t, 4); string(got[3].JSON) != "null" || got[3].Result.(*api.KVPair) != nil {
		t.Fatalf("after delete: %s", got[3].JSON)
	}
	r.exactly(t, 4)
}

func TestKeyPrefixWatch(t *testing.T) {
	c := startAgent(t)
	put(t, c, "p/1", "one")
	r := start(t, c, mustParse(t, map[string]any{"type": "keyprefix", "prefix": "p/"}))
	if got := decode[api.KVPairs](t, r.fires(t, 1)[0]); len(got) != 1 || got[0].Key != "p/1" {
		t.Fatalf("first run: %s", r.snapshot()[0].JSON)
	}
	put(t, c, "q/1", "elsewhere")
	put(t, c, "pa", "not under p/")
	put(t, c, "p/2", "two")
	got := decode[api.KVPairs](t, r.fires(t, 2)[1])
	if len(got) != 2 || got[0].Key != "p/1" || got[1].Key != "p/2" || string(got[1].Value) != "two" {
		t.Fatalf("second run: %s", r.snapshot()[1].JSON)
	}
	r.exactly(t, 2)
}

func TestServicesWatch(t *testing.T) {
	c := startAgent(t)
	register(t, c, "ext1", "web1", "web", 80, []string{"v1"})
	r := start(t, c, mustParse(t, map[string]any{"type": "services"}))
	if got := decode[map[string][]string](t, r.fires(t, 1)[0]); !slices.Equal(got["web"], []string{"v1"}) {
		t.Fatalf("first run: %v", got)
	}

	// Moving the instance to another port changes the catalog's services
	// index but not the list of names and tags: a wake-up that must not
	// run the handler.
	register(t, c, "ext1", "web1", "web", 81, []string{"v1"})
	_, meta, err := c.Catalog().Services(nil)
	if err != nil {
		t.Fatal(err)
	}
	r.quietWakeAtOrAfter(t, meta.LastIndex)
	r.exactly(t, 1)

	register(t, c, "ext1", "db1", "db", 5432, []string{"primary"})
	got := decode[map[string][]string](t, r.fires(t, 2)[1])
	if !slices.Equal(got["db"], []string{"primary"}) || !slices.Equal(got["web"], []string{"v1"}) {
		t.Fatalf("second run: %v", got)
	}
	r.exactly(t, 2)
}

func TestNodesWatch(t *testing.T) {
	c := startAgent(t)
	r := start(t, c, mustParse(t, map[string]any{"type": "nodes"}))
	first := decode[[]*api.Node](t, r.fires(t, 1)[0])
	if len(first) == 0 {
		t.Fatalf("first run lists no nodes (the agent's own should be there)")
	}
	put(t, c, "unrelated", "kv")
	register(t, c, "ext2", "", "", 0, nil)
	got := decode[[]*api.Node](t, r.fires(t, 2)[1])
	if len(got) != len(first)+1 || !slices.ContainsFunc(got, func(n *api.Node) bool { return n.Node == "ext2" }) {
		t.Fatalf("second run: %s", r.snapshot()[1].JSON)
	}
	r.exactly(t, 2)
}

func TestServiceWatch(t *testing.T) {
	c := startAgent(t)
	register(t, c, "ext1", "web1", "web", 80, []string{"primary"})
	r := start(t, c, mustParse(t, map[string]any{"type": "service", "service": "web", "tag": "primary"}))
	if got := decode[[]*api.ServiceEntry](t, r.fires(t, 1)[0]); len(got) != 1 || got[0].Service.ID != "web1" {
		t.Fatalf("first run: %s", r.snapshot()[0].JSON)
	}

	// Another service is not this one.
	register(t, c, "ext1", "db1", "db", 5432, []string{"primary"})
	// An instance of web without the tag wakes the query (web changed) but
	// leaves the answer as it was.
	register(t, c, "ext2", "web2", "web", 80, []string{"secondary"})
	_, meta, err := c.Health().Service("web", "primary", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.quietWakeAtOrAfter(t, meta.LastIndex)
	r.exactly(t, 1)

	register(t, c, "ext3", "web3", "web", 80, []string{"primary", "canary"})
	got := decode[[]*api.ServiceEntry](t, r.fires(t, 2)[1])
	if len(got) != 2 || got[0].Service.ID != "web1" || got[1].Service.ID != "web3" {
		t.Fatalf("second run: %s", r.snapshot()[1].JSON)
	}
	r.exactly(t, 2)
}

func TestServiceWatchPassingOnly(t *testing.T) {
	c := startAgent(t)
	register(t, c, "ext1", "api1", "api", 80, nil,
		&api.AgentCheck{CheckID: "api1-up", Name: "up", Status: api.HealthPassing, ServiceID: "api1"})
	r := start(t, c, mustParse(t, map[string]any{"type": "service", "service": "api", "passingonly": true}))
	if got := decode[[]*api.ServiceEntry](t, r.fires(t, 1)[0]); len(got) != 1 {
		t.Fatalf("first run: %s", r.snapshot()[0].JSON)
	}
	// A failing instance is left out, so the answer does not change.
	register(t, c, "ext2", "api2", "api", 80, nil,
		&api.AgentCheck{CheckID: "api2-up", Name: "up", Status: api.HealthCritical, ServiceID: "api2"})
	_, meta, err := c.Health().Service("api", "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.quietWakeAtOrAfter(t, meta.LastIndex)
	r.exactly(t, 1)
	// Once it passes, it is in.
	register(t, c, "ext2", "api2", "api", 80, nil,
		&api.AgentCheck{CheckID: "api2-up", Name: "up", Status: api.HealthPassing, ServiceID: "api2"})
	if got := decode[[]*api.ServiceEntry](t, r.fires(t, 2)[1]); len(got) != 2 {
		t.Fatalf("second run: %s", r.snapshot()[1].JSON)
	}
	r.exactly(t, 2)
}

func TestChecksWatchByState(t *testing.T) {
	c := startAgent(t)
	r := start(t, c, mustParse(t, map[string]any{"type": "checks", "state": "critical"}))
	if got := decode[[]*api.HealthCheck](t, r.fires(t, 1)[0]); len(got) != 0 {
		t.Fatalf("first run: %s", r.snapshot()[0].JSON)
	}
	register(t, c, "ext1", "", "", 0, nil, &api.AgentCheck{CheckID: "disk", Name: "disk", Status: api.HealthCritical})
	got := decode[[]*api.HealthCheck](t, r.fires(t, 2)[1])
	if len(got) != 1 || got[0].CheckID != "disk" || got[0].Node != "ext1" {
		t.Fatalf("second run: %s", r.snapshot()[1].JSON)
	}
	r.exactly(t, 2)

	// A passing check moves the checks index; the critical list is the same.
	register(t, c, "ext1", "", "", 0, nil,
		&api.AgentCheck{CheckID: "disk", Name: "disk", Status: api.HealthCritical},
		&api.AgentCheck{CheckID: "mem", Name: "mem", Status: api.HealthPassing})
	_, meta, err := c.Health().State("critical", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.quietWakeAtOrAfter(t, meta.LastIndex)
	r.exactly(t, 2)

	register(t, c, "ext1", "", "", 0, nil, &api.AgentCheck{CheckID: "disk", Name: "disk", Status: api.HealthPassing})
	if got := decode[[]*api.HealthCheck](t, r.fires(t, 3)[2]); len(got) != 0 {
		t.Fatalf("third run: %s", r.snapshot()[2].JSON)
	}
	r.exactly(t, 3)
}

func TestChecksWatchByService(t *testing.T) {
	c := startAgent(t)
	register(t, c, "ext1", "web1", "web", 80, nil,
		&api.AgentCheck{CheckID: "web1-http", Name: "http", Status: api.HealthPassing, ServiceID: "web1"})
	r := start(t, c, mustParse(t, map[string]any{"type": "checks", "service": "web"}))
	if got := decode[[]*api.HealthCheck](t, r.fires(t, 1)[0]); len(got) != 1 || got[0].Status != api.HealthPassing {
		t.Fatalf("first run: %s", r.snapshot()[0].JSON)
	}
	register(t, c, "ext1", "db1", "db", 5432, nil,
		&api.AgentCheck{CheckID: "db1-tcp", Name: "tcp", Status: api.HealthCritical, ServiceID: "db1"})
	register(t, c, "ext1", "web1", "web", 80, nil,
		&api.AgentCheck{CheckID: "web1-http", Name: "http", Status: api.HealthWarning, ServiceID: "web1"})
	got := decode[[]*api.HealthCheck](t, r.fires(t, 2)[1])
	if len(got) != 1 || got[0].CheckID != "web1-http" || got[0].Status != api.HealthWarning {
		t.Fatalf("second run: %s", r.snapshot()[1].JSON)
	}
	r.exactly(t, 2)
}

func TestEventWatch(t *testing.T) {
	c := startAgent(t)
	if _, _, err := c.Event().Fire(&api.UserEvent{Name: "probe"}, nil); err != nil {
		if strings.Contains(err.Error(), "404") {
			t.Skip("this agent has no /v1/event/fire yet: the event watch type is implemented but cannot be tested")
		}
		t.Fatal(err)
	}
	fire := func(name, payload string) string {
		t.Helper()
		id, _, err := c.Event().Fire(&api.UserEvent{Name: name, Payload: []byte(payload)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := fire("deploy", "v1")
	r := start(t, c, mustParse(t, map[string]any{"type": "event", "name": "deploy"}))
	// At the start: every deploy event the agent holds.
	got := decode[[]*api.UserEvent](t, r.fires(t, 1)[0])
	if len(got) != 1 || got[0].ID != first || string(got[0].Payload) != "v1" {
		t.Fatalf("first run: %s", r.snapshot()[0].JSON)
	}
	// Then only the new ones, and nothing for events of another name.
	fire("other", "x")
	second := fire("deploy", "v2")
	got = decode[[]*api.UserEvent](t, r.fires(t, 2)[1])
	if len(got) != 1 || got[0].ID != second || string(got[0].Payload) != "v2" {
		t.Fatalf("second run: %s", r.snapshot()[1].JSON)
	}
	r.exactly(t, 2)
	third := fire("deploy", "v3")
	got = decode[[]*api.UserEvent](t, r.fires(t, 3)[2])
	if len(got) != 1 || got[0].ID != third {
		t.Fatalf("third run: %s", r.snapshot()[2].JSON)
	}
	r.exactly(t, 3)
}

// A plan stops when its handler returns ErrStop, without an error.
func TestHandlerErrStop(t *testing.T) {
	c := startAgent(t)
	p := mustParse(t, map[string]any{"type": "nodes"})
	runs := 0
	p.Handler = plan.HandlerFunc(func(ctx context.Context, u plan.Update) error {
		runs++
		return plan.ErrStop
	})
	if err := p.Run(context.Background(), c); err != nil || runs != 1 {
		t.Fatalf("Run = %v after %d runs, want nil after 1", err, runs)
	}
}
