package projections

import (
	"errors"
	"testing"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
)

func aclEvents(events ...event.Event) []event.Event { return events }

// The resolver answers from the events: a presented secret by its hash,
// "" as the default token or else the anonymous token, the agent recovery
// token on its own, an expired or deleted token as not found; and an
// authorizer kept for a token is dropped when a policy changes.
func TestACLResolve(t *testing.T) {
	now := time.Unix(1000, 0)
	tokens := map[string]string{}
	a := NewACL(ACLConfig{DefaultPolicy: "deny", Datacenter: "dc1", NodeName: "n1",
		Token: func(kind string) string { return tokens[kind] }, Now: func() time.Time { return now }})
	if id, err := a.Resolve(""); err != nil || id.AccessorID != acl.AnonymousTokenID || id.Authorizer.Allowed(acl.ResourceKey, "k", acl.Read) {
		t.Fatalf("no anonymous token yet: want the default policy (deny), got %+v %v", id, err)
	}
	a.Apply(3, aclEvents(
		event.Event{Type: event.ACLPolicyUpdated, ACLPolicy: &event.ACLPolicy{ID: acl.GlobalManagementPolicyID, Name: "global-management"}},
		event.Event{Type: event.ACLTokenUpdated, ACLToken: &event.ACLToken{AccessorID: acl.AnonymousTokenID, SecretHash: acl.HashSecret("anonymous")}},
		event.Event{Type: event.ACLTokenUpdated, ACLToken: &event.ACLToken{AccessorID: "mgmt", SecretHash: acl.HashSecret("root"),
			Policies: []event.ACLLink{{ID: acl.GlobalManagementPolicyID}}}},
		event.Event{Type: event.ACLTokenUpdated, ACLToken: &event.ACLToken{AccessorID: "short", SecretHash: acl.HashSecret("brief"),
			ExpirationTime: now.Add(time.Minute).UnixNano()}},
		event.Event{Type: event.ACLRoleUpdated, ACLRole: &event.ACLRole{ID: "r1", Name: "admins",
			Policies: []event.ACLLink{{ID: acl.GlobalManagementPolicyID}}}},
		event.Event{Type: event.ACLTokenUpdated, ACLToken: &event.ACLToken{AccessorID: "via-role", SecretHash: acl.HashSecret("role-secret"),
			Roles: []event.ACLLink{{ID: "r1"}}}},
	))
	check := func(secret, wantAccessor string, wantWrite bool) {
		t.Helper()
		id, err := a.Resolve(secret)
		if err != nil {
			t.Fatalf("resolve %q: %v", secret, err)
		}
		if id.AccessorID != wantAccessor || id.Authorizer.Allowed(acl.ResourceKey, "k", acl.Write) != wantWrite {
			t.Errorf("resolve %q: accessor %q, key write %v; want %q, %v", secret, id.AccessorID,
				id.Authorizer.Allowed(acl.ResourceKey, "k", acl.Write), wantAccessor, wantWrite)
		}
	}
	check("", acl.AnonymousTokenID, false)
	check("root", "mgmt", true)
	check("role-secret", "via-role", true)
	check("brief", "short", false)
	tokens["default"] = "root"
	check("", "mgmt", true)
	tokens["agent_recovery"] = "towel"
	if id, err := a.Resolve("towel"); err != nil || id.AccessorID != AgentRecoveryAccessorID ||
		!id.Authorizer.Allowed(acl.ResourceAgent, "n1", acl.Write) || id.Authorizer.Allowed(acl.ResourceAgent, "n2", acl.Write) {
		t.Errorf("agent recovery token: %+v %v", id, err)
	}
	if _, err := a.Resolve("nobody"); !errors.Is(err, acl.ErrNotFound) {
		t.Errorf("unknown secret: %v", err)
	}

	// The role loses its policy: the kept authorizer goes with it.
	a.Apply(4, aclEvents(event.Event{Type: event.ACLRoleUpdated, ACLRole: &event.ACLRole{ID: "r1", Name: "admins"}}))
	check("role-secret", "via-role", false)
	// Deleted and expired tokens are not found.
	a.Apply(5, aclEvents(event.Event{Type: event.ACLTokenDeleted, ACLToken: &event.ACLToken{AccessorID: "mgmt", SecretHash: acl.HashSecret("root")}}))
	if _, err := a.Resolve("root"); !errors.Is(err, acl.ErrNotFound) {
		t.Errorf("deleted token: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := a.Resolve("brief"); !errors.Is(err, acl.ErrNotFound) {
		t.Errorf("expired token: %v", err)
	}
	index, _ := a.Read(false, func(v ACLView) {
		if len(v.Tokens()) != 2 || v.Token("short") != nil || v.RoleByName("ADMINS") == nil {
			t.Errorf("view: %d tokens", len(v.Tokens()))
		}
	})
	if index != 5 {
		t.Errorf("index %d, want 5", index)
	}
}
