package agent_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/testutil/poll"
)

const aclOn = `acl { enabled = true }`

// rootSecret is the initial management token of TestACLChangesReachEveryAgent,
// also every agent's agent token.
const rootSecret = "3f1c7e4a-0b7e-4c1d-9d52-6f2f4d1c9a01"

var aclDenyWithRoot = fmt.Sprintf(`acl {
  enabled = true
  default_policy = "deny"
  tokens {
    initial_management = %q
    agent = %q
  }
}`, rootSecret, rootSecret)

// The servers make the initial management token. A token made or revoked
// on one server takes effect on every agent, a second server and a client
// agent alike, as soon as the system shard's event reaches it, and so does
// a change of a role a token links; a client agent's writes go to the
// servers.
func TestACLChangesReachEveryAgent(t *testing.T) {
	serf := []int{agenttest.FreePort(t), agenttest.FreePort(t)}
	nats := agenttest.FreePort(t)
	var servers []*agent.Agent
	for i := range serf {
		// agenttest.Start waits for a leader, which a server of a new
		// cluster has only once the other is there: start both first.
		cfg, err := config.Load([]string{
			"-bind=127.0.0.1", "-client=127.0.0.1", "-http-port=0", "-dns-port=0", "-serf-wan-port=-1",
			fmt.Sprintf("-nats-port=%d", map[bool]int{true: nats, false: 0}[i == 0]),
			fmt.Sprintf("-server-port=%d", agenttest.FreePort(t)), fmt.Sprintf("-serf-lan-port=%d", serf[i]),
			"-server", "-bootstrap-expect=2", "-data-dir=" + t.TempDir(), fmt.Sprintf("-node=acl-s%d", i),
			fmt.Sprintf("-retry-join=127.0.0.1:%d", serf[0]), "-hcl", "performance { raft_multiplier = 1 }", "-hcl", aclDenyWithRoot,
		})
		if err != nil {
			t.Fatal(err)
		}
		a := agent.New(cfg, nil)
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Shutdown)
		servers = append(servers, a)
	}
	poll.Eventually(t, 60*time.Second, "the servers make the initial management token", func() (bool, string) {
		id, err := servers[1].ResolveToken(rootSecret)
		return err == nil && id.Authorizer.Allowed(acl.ResourceACL, "", acl.Write), fmt.Sprint(err)
	})
	root := &api.ACLToken{SecretID: rootSecret}
	cli := agenttest.Start(t, "-node=acl-cli", "-data-dir="+t.TempDir(), fmt.Sprintf("-retry-join=127.0.0.1:%d", serf[0]),
		"-hcl", aclDenyWithRoot)
	agents := map[string]*agent.Agent{"server 0": servers[0], "server 1": servers[1], "client agent": cli}
	management := func(addr string) *api.Client {
		c, err := api.NewClient(&api.Config{Address: addr, Token: root.SecretID})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	resolves := func(secret, accessor string) {
		t.Helper()
		for name, a := range agents {
			poll.Eventually(t, 10*time.Second, name+" resolves the token", func() (bool, string) {
				id, err := a.ResolveToken(secret)
				return err == nil && id.AccessorID == accessor && id.Authorizer.Allowed(acl.ResourceACL, "", acl.Write),
					fmt.Sprint(id.AccessorID, err)
			})
		}
	}
	revoked := func(secret string) {
		t.Helper()
		for name, a := range agents {
			poll.Eventually(t, 10*time.Second, name+" no longer resolves the token", func() (bool, string) {
				_, err := a.ResolveToken(secret)
				return errors.Is(err, acl.ErrNotFound), fmt.Sprint(err)
			})
		}
	}

	onServer, _, err := management(servers[0].HTTPAddr()).ACL().TokenCreate(&api.ACLToken{
		Policies: []*api.ACLTokenPolicyLink{{Name: acl.GlobalManagementPolicyName}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resolves(onServer.SecretID, onServer.AccessorID)
	// Written through the client agent, which holds no replica.
	onClient, _, err := management(cli.HTTPAddr()).ACL().TokenCreate(&api.ACLToken{
		Policies: []*api.ACLTokenPolicyLink{{ID: acl.GlobalManagementPolicyID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if onClient.SecretID == "" || onClient.SecretID == "<hidden>" {
		t.Fatalf("the client agent's answer to a create lacks the new secret: %+v", onClient)
	}
	resolves(onClient.SecretID, onClient.AccessorID)
	// A client agent has no secrets to show; a server shows them to a
	// management token.
	if read, _, err := management(cli.HTTPAddr()).ACL().TokenRead(onServer.AccessorID, nil); err != nil || read.SecretID != "<hidden>" {
		t.Errorf("read on the client agent: %+v %v", read, err)
	}
	if read, _, err := management(servers[1].HTTPAddr()).ACL().TokenRead(onClient.AccessorID, nil); err != nil || read.SecretID != onClient.SecretID {
		t.Errorf("read on the other server: %+v %v", read, err)
	}

	if _, err := management(servers[1].HTTPAddr()).ACL().TokenDelete(onServer.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	revoked(onServer.SecretID)
	// A token that has global-management through a role loses it when
	// the role does: the role's change reaches every agent's kept
	// authorizers.
	role, _, err := management(servers[0].HTTPAddr()).ACL().RoleCreate(&api.ACLRole{Name: "admins",
		Policies: []*api.ACLRolePolicyLink{{ID: acl.GlobalManagementPolicyID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	viaRole, _, err := management(servers[0].HTTPAddr()).ACL().TokenCreate(&api.ACLToken{
		Roles: []*api.ACLTokenRoleLink{{ID: role.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resolves(viaRole.SecretID, viaRole.AccessorID)
	role.Policies = nil
	if _, _, err := management(servers[0].HTTPAddr()).ACL().RoleUpdate(role, nil); err != nil {
		t.Fatal(err)
	}
	for name, a := range agents {
		poll.Eventually(t, 10*time.Second, name+" drops the role's grant", func() (bool, string) {
			id, err := a.ResolveToken(viaRole.SecretID)
			return err == nil && !id.Authorizer.Allowed(acl.ResourceACL, "", acl.Write), fmt.Sprint(err)
		})
	}
}

// A server whose data dir was made before the system shard existed (it has
// the catalog and kv shards only) starts the system shard with the catalog
// shard's voters, keeps its data, and serves ACLs.
func TestDataDirWithoutSystemShard(t *testing.T) {
	dir := t.TempDir()
	// Raft knows the server by its address: the same port both times.
	args := []string{"-server", "-bootstrap-expect=1", "-node=old", "-data-dir=" + dir,
		fmt.Sprintf("-server-port=%d", agenttest.FreePort(t))}

	restore := agent.StartOnlyShards(command.ShardCatalog, command.ShardKV)
	cfg, err := config.Load(append([]string{"-bind=127.0.0.1", "-client=127.0.0.1", "-http-port=0", "-dns-port=0",
		"-nats-port=0", "-serf-lan-port=0", "-serf-wan-port=-1"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	old := agent.New(cfg, nil)
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	c := agenttest.Client(t, old.HTTPAddr())
	poll.Eventually(t, 30*time.Second, "the old server takes a KV write", func() (bool, string) {
		_, err := c.KV().Put(&api.KVPair{Key: "kept", Value: []byte("v")}, nil)
		return err == nil, fmt.Sprint(err)
	})
	old.Shutdown()
	restore()

	upgraded := agenttest.Start(t, append(args, "-hcl", aclOn)...)
	c = agenttest.Client(t, upgraded.HTTPAddr())
	if kv, _, err := c.KV().Get("kept", nil); err != nil || kv == nil || string(kv.Value) != "v" {
		t.Fatalf("the KV data after the upgrade: %+v %v", kv, err)
	}
	root, _, err := c.ACL().Bootstrap()
	if err != nil {
		t.Fatalf("bootstrap after the upgrade: %v", err)
	}
	if id, err := upgraded.ResolveToken(root.SecretID); err != nil || id.AccessorID != root.AccessorID {
		t.Fatalf("resolve after the upgrade: %+v %v", id, err)
	}
}

// The system shard's leader deletes a token once it has expired (reads
// hide it from that moment; the record goes at the next sweep), as
// Consul's leader reaps expired tokens, and leaves the others.
func TestExpiredTokensAreDeleted(t *testing.T) {
	defer agent.SetTokenReapEvery(50 * time.Millisecond)()
	a := agenttest.Start(t, "-dev", "-hcl", aclDenyWithRoot)
	c := aclClient(t, a.HTTPAddr(), rootSecret)
	var kept *api.ACLToken
	poll.Eventually(t, 30*time.Second, "the initial management token works", func() (bool, string) {
		var err error
		kept, _, err = c.ACL().TokenCreate(&api.ACLToken{Description: "kept"}, nil)
		return err == nil, fmt.Sprint(err)
	})
	const accessor, secret = "0d4c6a52-5b7e-4f0e-8d3c-2b1a09f8e7d6", "6b2f9e1d-3c4a-4e5b-9f60-7a8b9c0d1e2f"
	expires := time.Now().Add(time.Second)
	_, err := a.Propose(t.Context(), command.Command{Time: time.Now().UnixNano(), Body: &command.ACLTokenSetBody{Create: true, SecretID: secret,
		Token: event.ACLToken{AccessorID: accessor, Description: "short-lived", ExpirationTime: expires.UnixNano()}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ACL().TokenRead(accessor, nil); err != nil {
		t.Fatalf("the short-lived token before it expires: %v", err)
	}
	poll.Eventually(t, 20*time.Second, "the expired token deleted", func() (bool, string) {
		if time.Now().Before(expires) {
			return false, "not expired yet"
		}
		left := a.ExpiredTokens()
		return len(left) == 0, fmt.Sprintf("%d expired tokens held", len(left))
	})
	if _, _, err := c.ACL().TokenRead(kept.AccessorID, nil); err != nil {
		t.Errorf("a token without an expiration time: %v", err)
	}
	// The deletion is an ordinary one: its AccessorID may be used again.
	if _, _, err := c.ACL().TokenCreate(&api.ACLToken{AccessorID: accessor, Description: "again"}, nil); err != nil {
		t.Errorf("the expired token's AccessorID used again: %v", err)
	}
}
