package statemachine

import (
	"bytes"
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// A replicated batch stores the primary's records as they are (IDs,
// secrets, links not checked), wins a name over a record of this
// datacenter, never touches a local token, deletes what the primary no
// longer has, and keeps its status, which a snapshot carries.
func TestACLReplicate(t *testing.T) {
	s := open(t, Config{Shard: event.ShardSystem})
	res := applyAll(t, s,
		&command.ACLPolicySetBody{Create: true, Policy: event.ACLPolicy{ID: "mine", Name: "readers"}},
		&command.ACLTokenSetBody{Create: true, SecretID: "local-secret", Token: event.ACLToken{AccessorID: "local", Local: true}},
		&command.ACLReplicateBody{
			Policies: []event.ACLPolicy{{ID: "p1", Name: "readers", Rules: `key_prefix "" { policy = "read" }`}},
			Roles:    []event.ACLRole{{ID: "r1", Name: "ops", Policies: []event.ACLLink{{ID: "p1", Name: "readers"}, {ID: "p-later"}}}},
			Tokens: []command.ACLReplicatedToken{
				{SecretID: "global-secret", Token: event.ACLToken{AccessorID: "g1", Roles: []event.ACLLink{{ID: "r1"}}}},
				{SecretID: "other", Token: event.ACLToken{AccessorID: "local"}},
			},
			Status: command.ACLReplicationStatus{SourceDatacenter: "dc1", ReplicationType: "tokens", ReplicatedIndex: 40, LastSuccess: 7},
		},
	)
	for i, r := range res {
		if !r.Succeeded {
			t.Fatalf("command %d refused: %s", i, r.Refusal)
		}
	}
	if p, _ := getPolicy(t, s, "mine"); p != nil {
		t.Fatal("the primary's policy of the same name did not replace this datacenter's")
	}
	if p, _ := getPolicy(t, s, "p1"); p == nil || p.Name != "readers" || p.ModifyIndex != s.Applied() {
		t.Fatalf("replicated policy: %+v", p)
	}
	if secret, ok, _ := s.ACLTokenSecret("g1"); !ok || secret != "global-secret" {
		t.Fatalf("replicated token's secret: %q %v", secret, ok)
	}
	if secret, _, _ := s.ACLTokenSecret("local"); secret != "local-secret" {
		t.Fatalf("a local token was replaced: secret %q", secret)
	}
	st, err := s.ACLReplicationStatus()
	if err != nil || st.ReplicatedIndex != 40 || st.SourceDatacenter != "dc1" {
		t.Fatalf("status %+v %v", st, err)
	}

	applyAll(t, s, &command.ACLReplicateBody{DeleteTokens: []string{"g1", "local"}, DeleteRoles: []string{"r1"},
		DeletePolicies: []string{"p1"}, Status: command.ACLReplicationStatus{ReplicatedIndex: 41}})
	if _, ok, _ := s.ACLTokenSecret("g1"); ok {
		t.Fatal("a global token the primary deleted is still here")
	}
	if _, ok, _ := s.ACLTokenSecret("local"); !ok {
		t.Fatal("replication deleted a local token")
	}
	if p, _ := getPolicy(t, s, "p1"); p != nil {
		t.Fatal("a policy the primary deleted is still here")
	}

	var buf bytes.Buffer
	if _, err := s.Export(&buf); err != nil {
		t.Fatal(err)
	}
	dst := open(t, Config{Shard: event.ShardSystem})
	if err := dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	if st, err := dst.ACLReplicationStatus(); err != nil || st.ReplicatedIndex != 41 {
		t.Fatalf("the status did not travel in the snapshot: %+v %v", st, err)
	}
}

func getPolicy(t *testing.T, s *StateMachine, id string) (*event.ACLPolicy, error) {
	t.Helper()
	var found *event.ACLPolicy
	err := dbSource{s.db}.ScanACL(nil, func(p *event.ACLPolicy) error {
		if p.ID == id {
			found = p
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return found, nil
}
