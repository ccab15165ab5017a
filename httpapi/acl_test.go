package httpapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/testutil/poll"
)

// aclServer starts a single server with ACLs on and bootstraps them; it
// returns the agent, its data dir, the bootstrap token and a client that
// presents it.
func aclServer(t *testing.T, extra ...string) (*agent.Agent, string, *api.ACLToken, *api.Client) {
	t.Helper()
	dir := t.TempDir()
	a := agenttest.Start(t, append([]string{"-server", "-bootstrap-expect=1", "-data-dir=" + dir,
		"-hcl", `acl { enabled = true }`}, extra...)...)
	root, _, err := agenttest.Client(t, a.HTTPAddr()).ACL().Bootstrap()
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: root.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	return a, dir, root, c
}

// needsRulesParser skips a test that creates policies with rules until
// the rules language (acl.Parse) is there.
func needsRulesParser(t *testing.T) {
	t.Helper()
	if _, err := acl.Parse(`key_prefix "" { policy = "read" }`); err != nil {
		t.Skipf("the rules parser is not there yet: %v", err)
	}
}

// needsEnforcement skips a test that depends on the API resolving each
// request's token until the enforcement is there: an unknown token must be
// refused.
func needsEnforcement(t *testing.T, addr string) {
	t.Helper()
	c, _ := api.NewClient(&api.Config{Address: addr, Token: "00000000-dead-beef-0000-000000000000"})
	if _, _, err := c.KV().Get("x", nil); err == nil || !strings.Contains(err.Error(), "ACL not found") {
		t.Skipf("the API does not resolve request tokens yet (%v)", err)
	}
}

func wantError(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one with %q", what, parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("%s: error %q, want one with %q", what, err, p)
		}
	}
}

func TestACLEndpointsWithACLsDisabled(t *testing.T) {
	c := agenttest.Client(t, agenttest.StartDev(t))
	_, _, err := c.ACL().PolicyList(nil)
	wantError(t, "policy list", err, "401", "ACL support disabled")
	_, _, err = c.ACL().Bootstrap()
	wantError(t, "bootstrap", err, "401", "ACL support disabled")
}

// Bootstrap needs no token, whatever the default policy: it is how the
// first token is made.
func TestACLBootstrapWithDefaultDeny(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(),
		"-hcl", `acl { enabled = true default_policy = "deny" }`)
	root, _, err := agenttest.Client(t, a.HTTPAddr()).ACL().Bootstrap()
	if err != nil || root.SecretID == "" {
		t.Fatalf("bootstrap: %+v %v", root, err)
	}
	if id, err := a.ResolveToken(""); err != nil || id.Authorizer.Allowed(acl.ResourceKey, "k", acl.Read) {
		t.Errorf("no token with default deny: %+v %v", id, err)
	}
}

// Bootstrap works once; the refusal names the reset index, and that index
// written to the data dir's acl-bootstrap-reset allows one more.
func TestACLBootstrapOnce(t *testing.T) {
	a, dir, root, c := aclServer(t)
	if root.SecretID == "" || root.AccessorID == "" || len(root.Policies) != 1 ||
		root.Policies[0].ID != acl.GlobalManagementPolicyID || root.Policies[0].Name != acl.GlobalManagementPolicyName {
		t.Fatalf("bootstrap token: %+v", root)
	}
	_, _, err := agenttest.Client(t, a.HTTPAddr()).ACL().Bootstrap()
	want := fmt.Sprintf("Permission denied: ACL bootstrap no longer allowed (reset index: %d)", root.CreateIndex)
	wantError(t, "second bootstrap", err, "403", want)

	if err := os.WriteFile(filepath.Join(dir, "acl-bootstrap-reset"), []byte(fmt.Sprint(root.CreateIndex)), 0o600); err != nil {
		t.Fatal(err)
	}
	again, _, err := agenttest.Client(t, a.HTTPAddr()).ACL().Bootstrap()
	if err != nil || again.AccessorID == root.AccessorID {
		t.Fatalf("bootstrap after a reset: %+v %v", again, err)
	}
	// Both management tokens work.
	for _, secret := range []string{root.SecretID, again.SecretID} {
		if id, err := a.ResolveToken(secret); err != nil || !id.Authorizer.Allowed(acl.ResourceACL, "", acl.Write) {
			t.Errorf("resolve a bootstrap token: %+v %v", id, err)
		}
	}
	if _, _, err := c.ACL().TokenRead(again.AccessorID, nil); err != nil {
		t.Errorf("read the second bootstrap token: %v", err)
	}
}

func TestACLPolicyCRUD(t *testing.T) {
	needsRulesParser(t)
	_, _, _, c := aclServer(t)
	rules := "key_prefix \"app/\" {\n  policy = \"write\"\n}\n"
	p, _, err := c.ACL().PolicyCreate(&api.ACLPolicy{Name: "app-writer", Description: "d", Rules: rules}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Rules != rules || p.CreateIndex == 0 || p.CreateIndex != p.ModifyIndex || len(p.Hash) == 0 {
		t.Fatalf("created policy: %+v", p)
	}
	byID, _, err := c.ACL().PolicyRead(p.ID, nil)
	if err != nil || byID.Name != "app-writer" || byID.Rules != rules {
		t.Fatalf("read by ID: %+v %v", byID, err)
	}
	byName, _, err := c.ACL().PolicyReadByName("app-writer", nil)
	if err != nil || byName.ID != p.ID {
		t.Fatalf("read by name: %+v %v", byName, err)
	}
	p.Rules = `key_prefix "" { policy = "read" }`
	updated, _, err := c.ACL().PolicyUpdate(p, nil)
	if err != nil || updated.Rules != p.Rules || updated.CreateIndex != p.CreateIndex || updated.ModifyIndex <= p.ModifyIndex ||
		bytes.Equal(updated.Hash, byID.Hash) {
		t.Fatalf("update: %+v %v", updated, err)
	}
	list, _, err := c.ACL().PolicyList(nil)
	if err != nil || len(list) != 2 || !slices.ContainsFunc(list, func(e *api.ACLPolicyListEntry) bool { return e.Name == acl.GlobalManagementPolicyName }) {
		t.Fatalf("list: %+v %v", list, err)
	}

	_, _, err = c.ACL().PolicyCreate(&api.ACLPolicy{Name: "bad", Rules: "key_prefix \"\" {\n  policy = \"sometimes\"\n}"}, nil)
	wantError(t, "bad rules", err, "400", "Failed to parse ACL rules", "line 2")
	_, _, err = c.ACL().PolicyCreate(&api.ACLPolicy{Name: "APP-writer"}, nil)
	wantError(t, "duplicate name", err, "400", `Invalid Policy: A Policy with Name "APP-writer" already exists`)
	_, _, err = c.ACL().PolicyCreate(&api.ACLPolicy{Name: "no spaces please"}, nil)
	wantError(t, "bad name", err, "400", "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed")
	// The official client drops the body of a refused policy delete: the
	// message is in the state machine's tests.
	_, err = c.ACL().PolicyDelete(acl.GlobalManagementPolicyID, nil)
	wantError(t, "delete global-management", err, "400")
	gm, _, err := c.ACL().PolicyRead(acl.GlobalManagementPolicyID, nil)
	if err != nil {
		t.Fatalf("global-management after a refused delete: %v", err)
	}
	gm.Rules = `acl = "read"`
	_, _, err = c.ACL().PolicyUpdate(gm, nil)
	wantError(t, "change global-management's rules", err, "Changing the Rules for the builtin global-management policy is not permitted")

	if _, err := c.ACL().PolicyDelete(p.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ACL().PolicyRead(p.ID, nil)
	wantError(t, "read a deleted policy", err, "403", "ACL not found")
}

func TestACLRoleCRUD(t *testing.T) {
	_, _, _, c := aclServer(t)
	r, _, err := c.ACL().RoleCreate(&api.ACLRole{Name: "admins", Description: "d",
		Policies:          []*api.ACLRolePolicyLink{{Name: acl.GlobalManagementPolicyName}},
		ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "web"}, {ServiceName: "web"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == "" || len(r.Policies) != 1 || r.Policies[0].ID != acl.GlobalManagementPolicyID || r.Policies[0].Name != acl.GlobalManagementPolicyName ||
		len(r.ServiceIdentities) != 1 {
		t.Fatalf("created role: %+v", r)
	}
	byName, _, err := c.ACL().RoleReadByName("admins", nil)
	if err != nil || byName == nil || byName.ID != r.ID {
		t.Fatalf("read by name: %+v %v", byName, err)
	}
	r.Description = "changed"
	r.Policies = nil
	updated, _, err := c.ACL().RoleUpdate(r, nil)
	if err != nil || updated.Description != "changed" || len(updated.Policies) != 0 {
		t.Fatalf("update: %+v %v", updated, err)
	}
	_, _, err = c.ACL().RoleCreate(&api.ACLRole{Name: "ADMINS"}, nil)
	wantError(t, "duplicate name", err, "400", `Invalid Role: A Role with Name "ADMINS" already exists`)
	_, _, err = c.ACL().RoleCreate(&api.ACLRole{Name: "x", Policies: []*api.ACLRolePolicyLink{{Name: "nope"}}}, nil)
	wantError(t, "unknown policy", err, "400", `No such ACL policy with name "nope"`)
	_, _, err = c.ACL().RoleCreate(&api.ACLRole{Name: "y", ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "Web!"}}}, nil)
	wantError(t, "bad service identity", err, "400", `Service identity "Web!" has an invalid name`)
	list, _, err := c.ACL().RoleList(nil)
	if err != nil || len(list) != 1 || list[0].Name != "admins" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := c.ACL().RoleDelete(r.ID, nil); err != nil {
		t.Fatal(err)
	}
	if gone, _, err := c.ACL().RoleRead(r.ID, nil); err != nil || gone != nil {
		t.Fatalf("read a deleted role: %+v %v", gone, err)
	}
}

func TestACLTokenLifecycle(t *testing.T) {
	a, _, root, c := aclServer(t)
	role, _, err := c.ACL().RoleCreate(&api.ACLRole{Name: "ops"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := c.ACL().TokenCreate(&api.ACLToken{Description: "ci",
		Policies:          []*api.ACLTokenPolicyLink{{Name: acl.GlobalManagementPolicyName}},
		Roles:             []*api.ACLTokenRoleLink{{ID: role.ID}},
		ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "web", Datacenters: []string{"dc1"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessorID == "" || tok.SecretID == "" || len(tok.Policies) != 1 || tok.Policies[0].Name != acl.GlobalManagementPolicyName ||
		len(tok.Roles) != 1 || tok.Roles[0].Name != "ops" || len(tok.ServiceIdentities) != 1 || tok.CreateTime.IsZero() || tok.ExpirationTime != nil {
		t.Fatalf("created token: %+v", tok)
	}
	read, _, err := c.ACL().TokenRead(tok.AccessorID, nil)
	if err != nil || read.SecretID != tok.SecretID || read.Description != "ci" || !read.CreateTime.Equal(tok.CreateTime) {
		t.Fatalf("read: %+v %v", read, err)
	}
	if id, err := a.ResolveToken(tok.SecretID); err != nil || id.AccessorID != tok.AccessorID {
		t.Fatalf("resolve: %+v %v", id, err)
	}

	tok.Description = "ci, updated"
	tok.SecretID = ""
	updated, _, err := c.ACL().TokenUpdate(tok, nil)
	if err != nil || updated.Description != "ci, updated" || updated.SecretID != read.SecretID || updated.ModifyIndex <= read.ModifyIndex {
		t.Fatalf("update: %+v %v", updated, err)
	}
	clone, _, err := c.ACL().TokenClone(tok.AccessorID, "the clone", nil)
	if err != nil || clone.AccessorID == tok.AccessorID || clone.SecretID == read.SecretID || clone.Description != "the clone" ||
		len(clone.Policies) != 1 || len(clone.Roles) != 1 {
		t.Fatalf("clone: %+v %v", clone, err)
	}

	list, _, err := c.ACL().TokenListFiltered(api.ACLTokenFilterOptions{Role: role.ID}, nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("list by role: %+v %v", list, err)
	}
	list, _, err = c.ACL().TokenListFiltered(api.ACLTokenFilterOptions{Policy: acl.GlobalManagementPolicyID}, nil)
	if err != nil || len(list) != 3 { // the bootstrap token, the token and its clone
		t.Fatalf("list by policy: %d %v", len(list), err)
	}
	all, _, err := c.ACL().TokenList(nil)
	if err != nil || len(all) != 4 { // and the anonymous token
		t.Fatalf("list: %d %v", len(all), err)
	}

	_, _, err = c.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: "8f246b77-f3e1-ff88-5b48-8ec93abf3e05"}}}, nil)
	wantError(t, "unknown policy", err, "400", `No such ACL policy with ID "8f246b77-f3e1-ff88-5b48-8ec93abf3e05"`)
	_, _, err = c.ACL().TokenCreate(&api.ACLToken{SecretID: root.SecretID}, nil)
	wantError(t, "secret in use", err, "400", "Invalid Token: SecretID is already in use")
	_, err = c.ACL().TokenDelete(acl.AnonymousTokenID, nil)
	wantError(t, "delete the anonymous token", err, "Delete operation not permitted on the anonymous token")

	if _, err := c.ACL().TokenDelete(tok.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ACL().TokenRead(tok.AccessorID, nil)
	wantError(t, "read a deleted token", err, "403", "ACL not found")
	if _, err := a.ResolveToken(read.SecretID); !errors.Is(err, acl.ErrNotFound) {
		t.Fatalf("resolve a deleted token: %v", err)
	}
}

// A token's own read (/v1/acl/token/self) needs the request's token.
func TestACLTokenSelf(t *testing.T) {
	a, _, root, c := aclServer(t)
	needsEnforcement(t, a.HTTPAddr())
	self, _, err := c.ACL().TokenReadSelf(nil)
	if err != nil || self.AccessorID != root.AccessorID || self.SecretID != root.SecretID {
		t.Fatalf("self: %+v %v", self, err)
	}
}

// A token made with ExpirationTTL stops resolving once it expires, and
// disappears from reads.
func TestACLTokenExpiry(t *testing.T) {
	defer httpapi.SetACLTokenMinExpirationTTL(time.Millisecond)()
	a, _, _, c := aclServer(t)
	tok, _, err := c.ACL().TokenCreate(&api.ACLToken{ExpirationTTL: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpirationTime == nil || tok.ExpirationTime.Sub(tok.CreateTime) != 2*time.Second {
		t.Fatalf("expiration time: %+v", tok)
	}
	_, _, err = c.ACL().TokenCreate(&api.ACLToken{ExpirationTTL: 48 * time.Hour}, nil)
	wantError(t, "too long a life", err, "400", "ExpirationTime cannot be more than 24h0m0s in the future")
	poll.Eventually(t, 10*time.Second, "the token expires", func() (bool, string) {
		_, err := a.ResolveToken(tok.SecretID)
		return errors.Is(err, acl.ErrNotFound), fmt.Sprint(err)
	})
	_, _, err = c.ACL().TokenRead(tok.AccessorID, nil)
	wantError(t, "read an expired token", err, "ACL not found")
}

// A snapshot carries the ACL state, secrets included: a restore brings
// back a deleted token that still works.
func TestACLSnapshotRestore(t *testing.T) {
	a, _, _, c := aclServer(t)
	tok, _, err := c.ACL().TokenCreate(&api.ACLToken{Description: "kept",
		Policies: []*api.ACLTokenPolicyLink{{ID: acl.GlobalManagementPolicyID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := c.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(snap); err != nil {
		t.Fatal(err)
	}
	snap.Close()
	if _, err := c.ACL().TokenDelete(tok.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Snapshot().Restore(nil, &buf); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, "the restored token resolves", func() (bool, string) {
		id, err := a.ResolveToken(tok.SecretID)
		return err == nil && id.AccessorID == tok.AccessorID, fmt.Sprint(id.AccessorID, err)
	})
	read, _, err := c.ACL().TokenRead(tok.AccessorID, nil)
	if err != nil || read.SecretID != tok.SecretID || read.Description != "kept" {
		t.Fatalf("restored token: %+v %v", read, err)
	}
}

// /v1/agent/token/default changes what a request without a token acts as,
// at once.
func TestACLAgentDefaultToken(t *testing.T) {
	a, _, _, c := aclServer(t)
	if id, err := a.ResolveToken(""); err != nil || id.AccessorID != acl.AnonymousTokenID {
		t.Fatalf("no token: %+v %v", id, err)
	}
	tok, _, err := c.ACL().TokenCreate(&api.ACLToken{Description: "default"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agent().UpdateDefaultACLToken(tok.SecretID, nil); err != nil {
		t.Fatal(err)
	}
	if id, err := a.ResolveToken(""); err != nil || id.AccessorID != tok.AccessorID {
		t.Fatalf("no token after set-agent-token default: %+v %v", id, err)
	}
}
