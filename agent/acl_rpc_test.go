package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// onlyKeysUnder is a test authorizer that grants write on the keys under
// one prefix and nothing else.
type onlyKeysUnder string

func (p onlyKeysUnder) Allowed(r acl.Resource, name string, _ acl.Access) bool {
	return r == acl.ResourceKey && strings.HasPrefix(name, string(p))
}
func (p onlyKeysUnder) AllowedPrefix(r acl.Resource, prefix string, need acl.Access) bool {
	return p.Allowed(r, prefix, need)
}

// serverTokens is the servers' test resolver: a fixed table.
type serverTokens map[string]acl.Identity

func (t serverTokens) Resolve(secret string) (acl.Identity, error) {
	if id, ok := t[secret]; ok {
		return id, nil
	}
	return acl.Identity{}, acl.ErrNotFound
}

// trustingClient is a client agent's test resolver that lets everything
// through, so that only the servers' judgement of the forwarded token
// stands between a request and the log.
type trustingClient struct{}

func (trustingClient) Resolve(secret string) (acl.Identity, error) {
	return acl.Identity{AccessorID: "client-view", Authorizer: acl.AllowAll()}, nil
}

// startJudgedClientAgent starts a server that knows the tokens
// secret-management (management) and secret-app (write on keys under app/
// only), and a client agent joined to it that lets every request through
// (trustingClient): what reaches the log is what the server allows. It
// returns the client agent and a management client of the server.
func startJudgedClientAgent(t *testing.T) (*agent.Agent, *api.Client) {
	t.Helper()
	manage := acl.Identity{AccessorID: "accessor-management", SecretID: "secret-management", Authorizer: acl.ManageAll()}
	tokens := serverTokens{
		"secret-management": manage,
		"secret-app":        {AccessorID: "accessor-app", Authorizer: onlyKeysUnder("app/")},
		"":                  {AccessorID: acl.AnonymousTokenID, Authorizer: acl.DenyAll()},
	}
	agentToken := func() acl.Identity { return manage }
	srv := agenttest.StartWithACL(t, tokens, agentToken, "-server", "-bootstrap-expect=1", "-node=srv",
		"-data-dir="+t.TempDir(), fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)))
	cs, _ := api.NewClient(&api.Config{Address: srv.HTTPAddr(), Token: "secret-management"})
	self := membersOf(t, cs)["srv"]
	cli := agenttest.StartWithACL(t, trustingClient{}, agentToken, "-node=cli", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-retry-join=%s:%d", self.Addr, self.Port))
	return cli, cs
}

// A client agent forwards its caller's token with each write; the server
// judges the write by it, and the client answers the server's refusal as
// the same 403.
func TestClientAgentWritesAreJudgedByTheServers(t *testing.T) {
	cli, cs := startJudgedClientAgent(t)
	client := func(token string) *api.KV {
		c, err := api.NewClient(&api.Config{Address: cli.HTTPAddr(), Token: token})
		if err != nil {
			t.Fatal(err)
		}
		return c.KV()
	}

	if _, err := client("secret-app").Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("allowed write through the client agent: %v", err)
	}
	_, err := client("secret-app").Put(&api.KVPair{Key: "other/x", Value: []byte("1")}, nil)
	want := `403 (Permission denied: token with AccessorID 'accessor-app' lacks permission 'key:write' on "other/x")`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("denied write through the client agent: %v, want %s", err, want)
	}
	_, err = client("secret-unknown").Put(&api.KVPair{Key: "app/y", Value: []byte("1")}, nil)
	if err == nil || !strings.Contains(err.Error(), "403 (ACL not found)") {
		t.Fatalf("write with a token the servers do not know: %v", err)
	}
	// A transaction's refused operation keeps its index.
	ok, resp, _, err := client("secret-app").Txn(api.KVTxnOps{
		{Verb: api.KVSet, Key: "app/t", Value: []byte("1")},
		{Verb: api.KVSet, Key: "other/t", Value: []byte("1")},
	}, nil)
	if err != nil || ok || len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 1 {
		t.Fatalf("txn through the client agent: ok=%v %+v %v", ok, resp, err)
	}
	for key, want := range map[string]bool{"app/x": true, "other/x": false, "app/y": false, "app/t": false} {
		p, _, err := cs.KV().Get(key, nil)
		if err != nil || (p != nil) != want {
			t.Errorf("%s on the server: %v %v, want present=%v", key, p, err, want)
		}
	}
}

// A client agent has a server sign its leaf certificates; the server judges
// the request by the caller's token, which needs service:write.
func TestClientAgentLeafSigningIsJudgedByTheServers(t *testing.T) {
	cli, _ := startJudgedClientAgent(t)
	agentAPI := func(token string) *api.Agent {
		c, err := api.NewClient(&api.Config{Address: cli.HTTPAddr(), Token: token})
		if err != nil {
			t.Fatal(err)
		}
		return c.Agent()
	}
	var leaf *api.LeafCert
	poll.Eventually(t, 30*time.Second, "a leaf signed for the client agent", func() (bool, string) {
		var err error
		leaf, _, err = agentAPI("secret-management").ConnectCALeaf("db", nil)
		return err == nil, fmt.Sprint(err)
	})
	if !strings.Contains(leaf.CertPEM, "BEGIN CERTIFICATE") || !strings.Contains(leaf.PrivateKeyPEM, "PRIVATE KEY") {
		t.Fatalf("leaf %+v", leaf)
	}
	_, _, err := agentAPI("secret-app").ConnectCALeaf("web", nil)
	want := `403 (Permission denied: token with AccessorID 'accessor-app' lacks permission 'service:write' on "web")`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("a leaf for a token without service:write: %v, want %s", err, want)
	}
}
