package natsauth

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/agent/userevent"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/watch"
)

func TestConnectionsWithoutAKnownTokenAreRefused(t *testing.T) {
	ts := startServer(t, newResolver())
	for name, opts := range map[string][]nats.Option{
		"no token":               nil,
		"unknown token":          {nats.Token("nobody")},
		"unknown password":       {nats.UserInfo("someone", "nobody")},
		"agent of unknown token": {nats.UserInfo(AgentUser("n1"), "nobody")},
	} {
		if c, err := ts.dial(opts...); err == nil {
			c.Close()
			t.Errorf("%s: connected", name)
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: %v, want an authorization violation", name, err)
		}
	}
}

func TestKeyPrefixTokenReadsItsKeysOnly(t *testing.T) {
	res := newResolver()
	res.set("app-reader", authorizer(prefixRule(acl.ResourceKey, "app/", acl.Read)))
	ts := startServer(t, res)

	for name, opts := range map[string][]nats.Option{
		"token":                      {nats.Token("app-reader")},
		"password, any user name":    {nats.UserInfo("whoever", "app-reader")},
		"password, no user name too": {nats.UserInfo("", "app-reader")},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ts.dial(append(opts, nats.NoReconnect())...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sub := c.subscribe(t, "herald.dc1.kv.app.>")
			c.noViolation(t)
			ts.publish(t, watch.Subject(dc, event.Event{Shard: event.ShardKV, Key: "other/x"}),
				watch.Subject(dc, event.Event{Shard: event.ShardKV, Key: "app/config.json"}))
			if got := receive(t, sub); got != "herald.dc1.kv.app.config%2Ejson" {
				t.Errorf("received %s", got)
			}

			c.subscribe(t, "herald.dc1.kv.other.>")
			c.expectViolation(t, "herald.dc1.kv.other.>")
			c.subscribe(t, "herald.dc1.kv.>")
			c.expectViolation(t, "herald.dc1.kv.>")
		})
	}
}

func TestDeniedKeysAreNotDeliveredUnderAWildcard(t *testing.T) {
	res := newResolver()
	res.set("most", authorizer(
		prefixRule(acl.ResourceKey, "", acl.Read),
		prefixRule(acl.ResourceKey, "secret/", acl.Deny),
		exactRule(acl.ResourceKey, "app/password", acl.Deny),
		prefixRule(acl.ResourceSession, "", acl.Read)))
	ts := startServer(t, res)
	c := ts.user(t, "most")
	sub := c.subscribe(t, "herald.dc1.kv.>")
	c.noViolation(t)
	ts.publish(t, "herald.dc1.kv.secret.a", "herald.dc1.kv.app.password", "herald.dc1.kv.app.visible")
	// One publisher and one server keep the order: had either denied key
	// come through, it would be first.
	if got := receive(t, sub); got != "herald.dc1.kv.app.visible" {
		t.Errorf("first delivery %s, want herald.dc1.kv.app.visible", got)
	}
	c.subscribe(t, "herald.dc1.kv.secret.>")
	c.expectViolation(t, "herald.dc1.kv.secret.>")
}

func TestCatalogServiceRules(t *testing.T) {
	res := newResolver()
	res.set("web-reader", authorizer(exactRule(acl.ResourceService, "web", acl.Read),
		prefixRule(acl.ResourceNode, "", acl.Read)))
	ts := startServer(t, res)
	c := ts.user(t, "web-reader")
	sub := c.subscribe(t, "herald.dc1.catalog.service.web.>")
	nodes := c.subscribe(t, "herald.dc1.catalog.node.>")
	c.noViolation(t)
	svc := func(name string) string {
		return watch.Subject(dc, event.Event{Shard: event.ShardCatalog, Service: &event.Service{Service: name, Node: "n1", ID: name + "-1"}})
	}
	ts.publish(t, svc("db"), svc("web"), watch.Subject(dc, event.Event{Shard: event.ShardCatalog, Node: &event.Node{Node: "n1"}}))
	if got := receive(t, sub); got != "herald.dc1.catalog.service.web.n1.web-1" {
		t.Errorf("received %s", got)
	}
	if got := receive(t, nodes); got != "herald.dc1.catalog.node.n1" {
		t.Errorf("received %s", got)
	}

	for _, denied := range []string{"herald.dc1.catalog.service.db.>", "herald.dc1.catalog.service.>",
		"herald.dc1.catalog.check.>", "herald.dc1.catalog.connect.ca", "herald.dc1.system.>"} {
		c.subscribe(t, denied)
		c.expectViolation(t, denied)
	}
}

func TestServiceReadWithoutNodeReadGrantsNothing(t *testing.T) {
	res := newResolver()
	res.set("web-only", authorizer(exactRule(acl.ResourceService, "web", acl.Read)))
	ts := startServer(t, res)
	c := ts.user(t, "web-only")
	c.subscribe(t, "herald.dc1.catalog.service.web.>")
	c.expectViolation(t, "herald.dc1.catalog.service.web.>")
}

func TestUserTokensGetNoRPCNorJetStreamNorPublishing(t *testing.T) {
	res := newResolver()
	res.set("writer", authorizer(prefixRule(acl.ResourceKey, "", acl.Write), prefixRule(acl.ResourceNode, "", acl.Write),
		prefixRule(acl.ResourceService, "", acl.Write), prefixRule(acl.ResourceSession, "", acl.Write)))
	ts := startServer(t, res)
	c := ts.user(t, "writer")

	rpcSubject := "herald.dc1.rpc.kv.propose"
	c.subscribe(t, rpcSubject)
	c.expectViolation(t, rpcSubject)
	if err := c.Publish(rpcSubject, nil); err != nil {
		t.Fatal(err)
	}
	c.expectViolation(t, rpcSubject)
	for _, s := range []string{"$JS.API.INFO", "herald.dc1.kv.app.x"} {
		if err := c.Publish(s, nil); err != nil {
			t.Fatal(err)
		}
		c.expectViolation(t, s)
	}
}

func TestManagementAndAgentTokensAreTrusted(t *testing.T) {
	res := newResolver()
	res.set("root", acl.ManageAll())
	res.set("agent-n1", authorizer(exactRule(acl.ResourceNode, "n1", acl.Write), prefixRule(acl.ResourceService, "", acl.Read)))
	ts := startServer(t, res)

	// The servers answer RPC on the process's own connection.
	sub, err := ts.internal.QueueSubscribe(rpc.SubjectAll(dc), rpc.QueueGroup, func(m *nats.Msg) { _ = m.Respond([]byte("ok")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := ts.internal.Flush(); err != nil {
		t.Fatal(err)
	}

	for name, opts := range map[string][]nats.Option{
		"management token": {nats.Token("root")},
		"agent of n1":      {nats.UserInfo(AgentUser("n1"), "agent-n1")},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ts.dial(append(opts, nats.NoReconnect())...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if m, err := c.Request("herald.dc1.rpc.kv.leader", nil, 10*time.Second); err != nil || string(m.Data) != "ok" {
				t.Fatalf("RPC: %v", err)
			}
			if _, err := c.Request("$JS.API.INFO", nil, 10*time.Second); err != nil {
				t.Fatalf("JetStream API: %v", err)
			}
			c.subscribe(t, "herald.dc1.kv.>")
			c.subscribe(t, "herald.dc1.system.>")
			c.subscribe(t, userevent.SubjectAll(dc))
			c.noViolation(t)
			// Nobody but the servers publishes into the stream or answers
			// RPC.
			if err := c.Publish("herald.dc1.kv.x", nil); err != nil {
				t.Fatal(err)
			}
			c.expectViolation(t, "herald.dc1.kv.x")
			c.subscribe(t, "herald.dc1.rpc.kv.propose")
			c.expectViolation(t, "herald.dc1.rpc.kv.propose")
			if _, err := c.Request("$JS.API.STREAM.DELETE.HERALD_dc1_kv", nil, time.Second); err == nil {
				t.Error("stream delete answered")
			}
			c.expectViolation(t, "$JS.API.STREAM.DELETE.HERALD_dc1_kv")
		})
	}

	// An agent token is an agent's only for its own node.
	if c, err := ts.dial(nats.UserInfo(AgentUser("n2"), "agent-n1")); err == nil {
		c.Close()
		t.Error("the agent token of n1 connected as the agent of n2")
	}
}

func TestUserEventsByEventRules(t *testing.T) {
	res := newResolver()
	res.set("deployer", authorizer(prefixRule(acl.ResourceEvent, "deploy", acl.Write)))
	ts := startServer(t, res)
	c := ts.user(t, "deployer")
	sub := c.subscribe(t, userevent.Subject(dc, "deploy"))
	c.noViolation(t)
	if err := c.Publish(userevent.Subject(dc, "deploy"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, sub); got != "herald.dc1.event.deploy" {
		t.Errorf("received %s", got)
	}
	if err := c.Publish(userevent.Subject(dc, "restart"), nil); err != nil {
		t.Fatal(err)
	}
	c.expectViolation(t, "herald.dc1.event.restart")
}

func TestRevokedTokenClosesItsConnection(t *testing.T) {
	for name, resolver := range map[string]func(*testResolver) acl.Resolver{
		"notifying resolver": func(r *testResolver) acl.Resolver { return r },
		"polled resolver":    func(r *testResolver) acl.Resolver { return pollingResolver{r} },
	} {
		t.Run(name, func(t *testing.T) {
			res := newResolver()
			res.set("doomed", authorizer(prefixRule(acl.ResourceKey, "app/", acl.Read)))
			res.set("bystander", authorizer(prefixRule(acl.ResourceKey, "app/", acl.Read)))
			ts := startServer(t, resolver(res))
			doomed := ts.user(t, "doomed")
			bystander := ts.user(t, "bystander")

			res.set("doomed", nil)
			poll.True(t, 10*time.Second, "the revoked token's connection is closed", doomed.IsClosed)
			if _, err := ts.dial(nats.Token("doomed")); !errors.Is(err, nats.ErrAuthorization) {
				t.Errorf("reconnecting with the revoked token: %v", err)
			}
			if bystander.IsClosed() {
				t.Error("another token's connection was closed too")
			}
			if err := bystander.Flush(); err != nil {
				t.Errorf("the other token's connection: %v", err)
			}
		})
	}
}

func TestChangedTokenReconnectsWithItsNewPermissions(t *testing.T) {
	res := newResolver()
	res.set("moving", authorizer(prefixRule(acl.ResourceKey, "app/", acl.Read)))
	ts := startServer(t, res)
	reconnected := make(chan struct{}, 1)
	c, err := ts.dial(nats.Token("moving"), nats.ReconnectWait(10*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	res.set("moving", authorizer(prefixRule(acl.ResourceKey, "other/", acl.Read)))
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was not closed when its token's rules changed")
	}
	sub := c.subscribe(t, "herald.dc1.kv.other.>")
	c.noViolation(t)
	ts.publish(t, "herald.dc1.kv.other.x")
	if got := receive(t, sub); got != "herald.dc1.kv.other.x" {
		t.Errorf("received %s", got)
	}
	c.subscribe(t, "herald.dc1.kv.app.>")
	c.expectViolation(t, "herald.dc1.kv.app.>")
}

func TestUnchangedPermissionsKeepTheirConnection(t *testing.T) {
	res := newResolver()
	res.set("steady", authorizer(prefixRule(acl.ResourceKey, "app/", acl.Read)))
	ts := startServer(t, res)
	c := ts.user(t, "steady")
	res.set("other", authorizer())
	// The change has been looked at once a connection made after it
	// has been checked: wait for the revocation of one made for this.
	res.set("witness", authorizer())
	witness := ts.user(t, "witness")
	res.set("witness", nil)
	poll.True(t, 10*time.Second, "the witness connection is closed", witness.IsClosed)
	if c.IsClosed() {
		t.Error("a connection whose permissions did not change was closed")
	}
}
