package agent_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// nodeWriter grants write on one node and nothing else: an agent token.
type nodeWriter string

func (n nodeWriter) Allowed(r acl.Resource, name string, need acl.Access) bool {
	return r == acl.ResourceNode && name == string(n)
}
func (nodeWriter) AllowedPrefix(acl.Resource, string, acl.Access) bool { return false }

// mapResolver resolves a fixed set of secrets.
type mapResolver struct {
	mu  sync.Mutex
	ids map[string]acl.Identity
}

func (m *mapResolver) Resolve(secret string) (acl.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.ids[secret]; ok {
		return id, nil
	}
	return acl.Identity{}, acl.ErrNotFound
}

// With ACLs on, the embedded NATS server admits only tokens, and the agents
// keep working: the server's own connections (publishers, RPC) with its
// in-memory secret, a client agent with its agent token.
func TestAgentsKeepWorkingWithNATSACLs(t *testing.T) {
	res := &mapResolver{ids: map[string]acl.Identity{
		"root":      {AccessorID: "root-accessor", Authorizer: acl.ManageAll()},
		"cli-agent": {AccessorID: "cli-accessor", Authorizer: nodeWriter("cli")},
		// Requests without a token may do everything (the HTTP API and
		// the servers' RPC use the same resolver); NATS still admits only
		// tokens.
		"": {AccessorID: "anonymous", Authorizer: acl.ManageAll()},
	}}
	withResolver := func(a *agent.Agent) {
		a.SetACL(res, nil)
		a.SetACLResolver(res)
	}
	srv := agenttest.StartPrepared(t, withResolver, "-server", "-bootstrap-expect=1", "-node=srv", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)), "-hcl=acl { enabled = true }")

	if nc, err := nats.Connect(srv.NATSURL(), nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("connected to the server's NATS without a token")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connecting without a token: %v", err)
	}
	root, err := nats.Connect(srv.NATSURL(), nats.Token("root"), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	sub, err := root.SubscribeSync("herald.dc1.kv.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Flush(); err != nil {
		t.Fatal(err)
	}

	cs := agenttest.Client(t, srv.HTTPAddr())
	if _, err := cs.KV().Put(&api.KVPair{Key: "app/config", Value: []byte("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	// The server's publisher reached its NATS with its own secret.
	if m, err := sub.NextMsg(10 * time.Second); err != nil || m.Subject != "herald.dc1.kv.app.config" {
		t.Fatalf("event of the write: %v, %v", m, err)
	}

	self := membersOf(t, cs)["srv"]
	cli := agenttest.StartPrepared(t, withResolver, "-node=cli", "-data-dir="+t.TempDir(), fmt.Sprintf("-retry-join=%s:%d", self.Addr, self.Port),
		`-hcl=acl { enabled = true tokens { agent = "cli-agent" } }`)
	cc := agenttest.Client(t, cli.HTTPAddr())
	// The client agent loaded the KV shard through RPC and follows the
	// stream, and writes through it.
	if _, err := cc.KV().Put(&api.KVPair{Key: "app/from-client", Value: []byte("v2")}, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, "the client agent has both keys", func() (bool, string) {
		keys, _, err := cc.KV().Keys("app/", "", nil)
		if err != nil {
			return false, err.Error()
		}
		return len(keys) == 2, fmt.Sprint(keys)
	})
	if m, err := sub.NextMsg(10 * time.Second); err != nil || m.Subject != "herald.dc1.kv.app.from-client" {
		t.Fatalf("event of the client's write: %v, %v", m, err)
	}
}
