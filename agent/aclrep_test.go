package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// Secrets of the ACL replication tests (startACLDatacenters): dc1's
// initial management token, which dc2 uses as its replication token once
// replicated, and dc2's agent recovery token, which joins the WAN before
// dc2 has any token.
const (
	repRoot     = "5a0e1c3b-7d2f-4e8a-9b6c-1f2e3d4c5b6a"
	repRecovery = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
)

func aclClient(t *testing.T, addr, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// aclSecondaryConfig is the acl block of dc2's agents in the ACL
// replication tests, which replicate tokens too when replicateTokens is
// set; the agent recovery token joins the WAN before dc2 holds any token.
// Without primary_datacenter: a server gets it beside.
func aclSecondaryConfig(replicateTokens bool) string {
	return fmt.Sprintf(`acl {
  enabled = true
  default_policy = "deny"
  enable_token_replication = %t
  tokens {
    replication = %q
    agent = %q
    agent_recovery = %q
  }
}`, replicateTokens, repRoot, repRoot, repRecovery)
}

// startACLDatacenters starts two one-server datacenters with ACLs on, dc1
// the primary (its initial management token repRoot) and dc2 its
// secondary with aclSecondaryConfig, joins them over the WAN, and returns their
// agents and clients with the management token.
func startACLDatacenters(t *testing.T, replicateTokens bool) (a1, a2 *agent.Agent, c1, c2 *api.Client) {
	t.Helper()
	a1, _ = startDC(t, "dc1", "-hcl", fmt.Sprintf(`primary_datacenter = "dc1"
acl {
  enabled = true
  default_policy = "deny"
  tokens {
    initial_management = %q
    agent = %q
  }
}`, repRoot, repRoot))
	a2, _ = startDC(t, "dc2", "-hcl", `primary_datacenter = "dc1"`, "-hcl", aclSecondaryConfig(replicateTokens))
	c1 = aclClient(t, a1.HTTPAddr(), repRoot)
	c2 = aclClient(t, a2.HTTPAddr(), repRoot)
	if err := c1.Agent().Join(wanAddr(t, aclClient(t, a2.HTTPAddr(), repRecovery)), true); err != nil {
		t.Fatalf("join -wan: %v", err)
	}
	return a1, a2, c1, c2
}

// Two one-server datacenters with ACLs on, dc1 the primary: what is
// written in dc1 (a policy, a role, a token) appears in dc2 and the token
// authorizes there; updates and deletions follow; a local token of dc2
// stays; a policy written in dc2 goes to dc1; /v1/acl/replication tells
// the index reached; with dc1 stopped, dc2 answers from its replicated
// state, and a token it does not hold gets the down policy's answer.
func TestACLReplication(t *testing.T) {
	a1, a2, c1, c2 := startACLDatacenters(t, true)

	// The records of dc1 reach dc2, the token with its secret.
	policy, _, err := c1.ACL().PolicyCreate(&api.ACLPolicy{Name: "app", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	role, _, err := c1.ACL().RoleCreate(&api.ACLRole{Name: "app-role", Policies: []*api.ACLRolePolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := c1.ACL().TokenCreate(&api.ACLToken{Description: "app", Roles: []*api.ACLTokenRoleLink{{ID: role.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := c1.ACL().TokenCreate(&api.ACLToken{Description: "other", Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "dc1's policy, role and token in dc2", func() (bool, string) {
		p, _, err := c2.ACL().PolicyReadByName("app", nil)
		if err != nil || p == nil || p.ID != policy.ID || p.Rules != policy.Rules {
			return false, fmt.Sprint("policy ", p, err)
		}
		r, _, err := c2.ACL().RoleRead(role.ID, nil)
		if err != nil || r == nil || len(r.Policies) != 1 || r.Policies[0].Name != "app" {
			return false, fmt.Sprint("role ", r, err)
		}
		tok, _, err := c2.ACL().TokenRead(token.AccessorID, nil)
		if err != nil || tok.SecretID != token.SecretID || tok.Local || len(tok.Roles) != 1 || tok.Roles[0].ID != role.ID {
			return false, fmt.Sprint("token ", tok, err)
		}
		return true, ""
	})
	app2 := aclClient(t, a2.HTTPAddr(), token.SecretID)
	if _, err := app2.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("the replicated token's write in dc2: %v", err)
	}
	if _, err := app2.KV().Put(&api.KVPair{Key: "elsewhere", Value: []byte("1")}, nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("a write the replicated token may not do in dc2: %v, want Permission denied", err)
	}

	// A local token of dc2 stays in dc2.
	local, _, err := c2.ACL().TokenCreate(&api.ACLToken{Description: "dc2 only", Local: true,
		Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatalf("a local token in dc2: %v", err)
	}
	if _, _, err := c1.ACL().TokenRead(local.AccessorID, nil); err == nil {
		t.Fatal("dc2's local token is in dc1")
	}
	// A policy written in dc2 is the primary's, and comes back.
	fromDC2, _, err := c2.ACL().PolicyCreate(&api.ACLPolicy{Name: "from-dc2", Rules: `node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatalf("a policy written in dc2: %v", err)
	}
	if p, _, err := c1.ACL().PolicyRead(fromDC2.ID, nil); err != nil || p == nil || p.Name != "from-dc2" {
		t.Fatalf("the policy written in dc2, read in dc1: %+v %v", p, err)
	}

	// Updates and deletions follow.
	policy.Rules = `key_prefix "app2/" { policy = "write" }`
	if _, _, err := c1.ACL().PolicyUpdate(policy, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.ACL().TokenDelete(other.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the update and the deletion in dc2", func() (bool, string) {
		p, _, err := c2.ACL().PolicyRead(policy.ID, nil)
		if err != nil || p == nil || p.Rules != policy.Rules {
			return false, fmt.Sprint("policy ", p, err)
		}
		if _, _, err := c2.ACL().TokenRead(other.AccessorID, nil); err == nil {
			return false, "the deleted token is still in dc2"
		}
		if p, _, err := c2.ACL().PolicyRead(fromDC2.ID, nil); err != nil || p == nil {
			return false, fmt.Sprint("the policy written in dc2: ", p, err)
		}
		return true, ""
	})
	if _, err := app2.KV().Put(&api.KVPair{Key: "app2/x", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("the updated policy in dc2: %v", err)
	}
	if tok, _, err := c2.ACL().TokenRead(local.AccessorID, nil); err != nil || !tok.Local {
		t.Fatalf("dc2's local token after replication: %+v %v", tok, err)
	}

	status, _, err := c2.ACL().Replication(nil)
	if err != nil || !status.Enabled || !status.Running || status.SourceDatacenter != "dc1" || status.ReplicationType != "tokens" ||
		status.ReplicatedIndex == 0 || status.ReplicatedTokenIndex != status.ReplicatedIndex || status.LastSuccess.IsZero() {
		t.Fatalf("dc2's replication status: %+v %v", status, err)
	}
	if st, _, err := c1.ACL().Replication(nil); err != nil || st.Enabled || st.Running {
		t.Fatalf("dc1's replication status: %+v %v, want not enabled", st, err)
	}
	// An unknown token is not found while dc1 answers.
	if _, err := aclClient(t, a2.HTTPAddr(), "00000000-0000-4000-8000-0000000000aa").KV().Put(&api.KVPair{Key: "app2/y"}, nil); err == nil ||
		!strings.Contains(err.Error(), "ACL not found") {
		t.Fatalf("an unknown token in dc2 with dc1 up: %v, want ACL not found", err)
	}

	// dc1 stops: dc2 keeps its replicated state; a token it does not hold
	// is denied (extend-cache, with nothing kept).
	a1.Shutdown()
	if _, err := app2.KV().Put(&api.KVPair{Key: "app2/z", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("the replicated token in dc2 with dc1 down: %v", err)
	}
	if _, err := aclClient(t, a2.HTTPAddr(), "00000000-0000-4000-8000-0000000000bb").KV().Put(&api.KVPair{Key: "app2/y"}, nil); err == nil ||
		!strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("an unknown token in dc2 with dc1 down: %v, want the down policy's Permission denied", err)
	}
	poll.Eventually(t, 30*time.Second, "the replication error in dc2's status", func() (bool, string) {
		st, _, err := c2.ACL().Replication(nil)
		return err == nil && st.LastError.After(st.LastSuccess) && st.LastErrorMessage != "", fmt.Sprintf("%+v %v", st, err)
	})
}

// Without token replication a secondary holds no global token, so its
// token reads are the primary's: /v1/acl/token/self answers for a token
// the primary made (it authorizes here through the primary), a read by
// accessor and the list show the primary's tokens, and a local token of
// the secondary is still read here.
func TestSecondaryTokenReadsWithoutTokenReplication(t *testing.T) {
	_, a2, c1, c2 := startACLDatacenters(t, false)
	policy, _, err := c1.ACL().PolicyCreate(&api.ACLPolicy{Name: "app", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := c1.ACL().TokenCreate(&api.ACLToken{Description: "app", Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The token authorizes in dc2 once the policy is replicated, and
	// reads itself there.
	app2 := aclClient(t, a2.HTTPAddr(), token.SecretID)
	poll.Eventually(t, 30*time.Second, "the primary's token writes in dc2", func() (bool, string) {
		_, err := app2.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil)
		return err == nil, fmt.Sprint(err)
	})
	self, _, err := app2.ACL().TokenReadSelf(nil)
	if err != nil {
		t.Fatalf("token/self in dc2: %v", err)
	}
	if self.AccessorID != token.AccessorID || self.SecretID != token.SecretID || len(self.Policies) != 1 || self.Policies[0].Name != "app" {
		t.Errorf("token/self in dc2 = %+v, want accessor %s with policy app", self, token.AccessorID)
	}
	// Named with ?dc= of the secondary, a request sent on to the primary
	// names the primary instead, or the primary would send it back.
	if _, _, err := app2.ACL().TokenReadSelf(&api.QueryOptions{Datacenter: "dc2"}); err != nil {
		t.Errorf("token/self in dc2 with ?dc=dc2: %v", err)
	}
	viaDC2, _, err := c2.ACL().PolicyCreate(&api.ACLPolicy{Name: "via-dc2"}, &api.WriteOptions{Datacenter: "dc2"})
	if err != nil {
		t.Fatalf("a policy written to dc2 with ?dc=dc2: %v", err)
	}
	if p, _, err := c1.ACL().PolicyRead(viaDC2.ID, nil); err != nil || p == nil || p.Name != "via-dc2" {
		t.Errorf("the policy written through dc2, read in dc1: %+v %v", p, err)
	}
	read, _, err := c2.ACL().TokenRead(token.AccessorID, nil)
	if err != nil || read.Description != "app" {
		t.Errorf("token read by accessor in dc2 = %+v, %v; want the primary's token", read, err)
	}
	list, _, err := c2.ACL().TokenList(nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range list {
		found = found || l.AccessorID == token.AccessorID
	}
	if !found {
		t.Errorf("token list in dc2 lacks the primary's token %s (%d tokens)", token.AccessorID, len(list))
	}

	// A token dc2 holds itself is read in dc2.
	local, _, err := c2.ACL().TokenCreate(&api.ACLToken{Description: "dc2 only", Local: true, Policies: []*api.ACLTokenPolicyLink{{Name: "app"}}}, nil)
	if err != nil {
		t.Fatalf("local token in dc2: %v", err)
	}
	got, _, err := c2.ACL().TokenRead(local.AccessorID, nil)
	if err != nil || !got.Local || got.Description != "dc2 only" {
		t.Errorf("local token read in dc2 = %+v, %v", got, err)
	}
	if _, _, err := c1.ACL().TokenRead(local.AccessorID, nil); err == nil {
		t.Error("dc2's local token is in dc1")
	}
}

// A client agent of a secondary that does not know the primary (no
// primary_datacenter) sends its writes to dc2's servers, which refuse
// those of the primary's ACL state, saying why, rather than write a
// policy here that replication would undo; a local token it writes stays
// in dc2.
func TestSecondaryServersRefuseGlobalACLWritesOfUnawareClients(t *testing.T) {
	_, a2, _, c2 := startACLDatacenters(t, true)
	poll.Eventually(t, 30*time.Second, "dc1's management token replicated to dc2", func() (bool, string) {
		_, _, err := c2.ACL().TokenReadSelf(nil)
		return err == nil, fmt.Sprint(err)
	})
	lan, err := aclClient(t, a2.HTTPAddr(), repRecovery).Agent().Members(false)
	if err != nil || len(lan) != 1 {
		t.Fatalf("dc2's LAN members: %v %v", lan, err)
	}
	unaware := agenttest.Start(t, "-node=unaware", "-datacenter=dc2", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-retry-join=%s:%d", lan[0].Addr, lan[0].Port), "-hcl", aclSecondaryConfig(true))
	cu := aclClient(t, unaware.HTTPAddr(), repRoot)

	var local *api.ACLToken
	poll.Eventually(t, 30*time.Second, "a local token written through the client agent", func() (bool, string) {
		local, _, err = cu.ACL().TokenCreate(&api.ACLToken{Description: "dc2 only", Local: true}, nil)
		return err == nil, fmt.Sprint(err)
	})
	if got, _, err := c2.ACL().TokenRead(local.AccessorID, nil); err != nil || !got.Local {
		t.Errorf("the local token in dc2: %+v %v", got, err)
	}
	_, _, err = cu.ACL().PolicyCreate(&api.ACLPolicy{Name: "stray"}, nil)
	if err == nil || !strings.Contains(err.Error(), `are written in the primary datacenter "dc1"`) {
		t.Fatalf("a policy written through a client agent that does not know the primary: %v, want the servers' refusal", err)
	}
	if _, _, err := cu.ACL().TokenCreate(&api.ACLToken{Description: "global"}, nil); err == nil ||
		!strings.Contains(err.Error(), "global ACL tokens are written in the primary datacenter") {
		t.Errorf("a global token written through that client agent: %v, want the servers' refusal", err)
	}
	if p, _, err := c2.ACL().PolicyReadByName("stray", nil); err == nil && p != nil {
		t.Errorf("the refused policy is in dc2: %+v", p)
	}
}
