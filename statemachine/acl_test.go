package statemachine

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

func applyAll(t *testing.T, s *StateMachine, bodies ...command.Body) []command.Result {
	t.Helper()
	entries := make([]sm.Entry, len(bodies))
	for i, b := range bodies {
		entries[i] = ruleEntry(t, s.Applied()+uint64(i)+1, ruleT0, b)
	}
	if _, err := s.Update(entries); err != nil {
		t.Fatal(err)
	}
	out := make([]command.Result, len(entries))
	for i, e := range entries {
		res, err := command.DecodeResult(e.Result.Value, e.Result.Data)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = res
	}
	return out
}

const (
	testSecret   = "5e3c1a9e-0000-4000-8000-000000000001"
	testAccessor = "a0000000-0000-4000-8000-000000000001"
)

// The ACL rules: one bootstrap, then a refusal naming its index unless a
// reset names it; names unique; links resolved to IDs and checked; the
// built-ins protected; and no event ever carries a SecretID.
func TestACLRules(t *testing.T) {
	sink := &recordingSink{}
	s := open(t, Config{Shard: event.ShardSystem, Sink: sink})
	res := applyAll(t, s,
		&command.ACLBootstrapBody{AccessorID: testAccessor, SecretID: testSecret},
		&command.ACLBootstrapBody{AccessorID: "other", SecretID: "other-secret"},
		&command.ACLPolicySetBody{Create: true, Policy: event.ACLPolicy{ID: "p1", Name: "readers", Rules: `key_prefix "" { policy = "read" }`}},
		&command.ACLPolicySetBody{Create: true, Policy: event.ACLPolicy{ID: "p2", Name: "Readers"}},
		&command.ACLPolicySetBody{Create: true, Policy: event.ACLPolicy{ID: "p3", Name: "bad name!"}},
		&command.ACLRoleSetBody{Create: true, Role: event.ACLRole{ID: "r1", Name: "ops", Policies: []event.ACLLink{{Name: "readers"}}}},
		&command.ACLTokenSetBody{Create: true, SecretID: "s2", Token: event.ACLToken{AccessorID: "t2",
			Policies: []event.ACLLink{{Name: "readers"}, {ID: "p1"}}, Roles: []event.ACLLink{{Name: "ops"}}}},
		&command.ACLTokenSetBody{Create: true, SecretID: "s3", Token: event.ACLToken{AccessorID: "t3", Policies: []event.ACLLink{{Name: "nope"}}}},
		&command.ACLTokenSetBody{Create: true, SecretID: "s2", Token: event.ACLToken{AccessorID: "t4"}},
		&command.ACLPolicyDeleteBody{ID: acl.GlobalManagementPolicyID},
		&command.ACLTokenDeleteBody{AccessorID: acl.AnonymousTokenID},
		&command.ACLPolicySetBody{Policy: event.ACLPolicy{ID: acl.GlobalManagementPolicyID, Name: acl.GlobalManagementPolicyName, Rules: "x"}},
		&command.ACLTokenSetBody{Token: event.ACLToken{AccessorID: "t2", Description: "updated"}},
		&command.ACLTokenSetBody{SecretID: "changed", Token: event.ACLToken{AccessorID: "t2"}},
	)
	want := []string{"",
		"ACL bootstrap no longer allowed (reset index: 1)",
		"",
		`Invalid Policy: A Policy with Name "Readers" already exists`,
		"Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed",
		"",
		"",
		`No such ACL policy with name "nope"`,
		"Invalid Token: SecretID is already in use",
		"Delete operation not permitted on the builtin global-management policy",
		"Delete operation not permitted on the anonymous token",
		"Changing the Rules for the builtin global-management policy is not permitted",
		"",
		"Changing a tokens SecretID is not permitted",
	}
	for i, r := range res {
		if r.Refusal != want[i] || r.Succeeded != (want[i] == "") {
			t.Errorf("command %d: succeeded %v refusal %q, want %q", i, r.Succeeded, r.Refusal, want[i])
		}
	}
	if tok := res[6].Txn.ACL.Token; len(tok.Policies) != 1 || tok.Policies[0].ID != "p1" || tok.Policies[0].Name != "" ||
		len(tok.Roles) != 1 || tok.Roles[0].ID != "r1" || tok.SecretHash != acl.HashSecret("s2") {
		t.Errorf("stored token: %+v", tok)
	}
	if secret, ok, err := s.ACLTokenSecret("T2"); err != nil || !ok || secret != "s2" {
		t.Errorf("secret of t2: %q %v %v", secret, ok, err)
	}
	// A reset naming the bootstrap's index allows a second one.
	if r := applyAll(t, s, &command.ACLBootstrapBody{AccessorID: "b2", SecretID: "bs2", ResetIndex: 1}); !r[0].Succeeded {
		t.Errorf("bootstrap with reset index: %q", r[0].Refusal)
	}
	payload, err := json.Marshal(sink.events)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{testSecret, "s2", "bs2", AnonymousSecretID} {
		if strings.Contains(string(payload), secret) {
			t.Errorf("an event carries the secret %q", secret)
		}
	}
	if !strings.Contains(string(payload), acl.HashSecret(testSecret)) {
		t.Error("no event carries the bootstrap token's SecretHash")
	}
}

// The ACL areas travel in snapshots; a client agent's SnapshotSource
// knows tokens by their hash only.
func TestACLInSnapshots(t *testing.T) {
	src := open(t, Config{Shard: event.ShardSystem, RetainCommands: 1})
	applyAll(t, src, &command.ACLInitBody{ManagementAccessorID: testAccessor, ManagementSecretID: testSecret},
		&command.ACLInitBody{ManagementAccessorID: "other", ManagementSecretID: testSecret})
	var buf bytes.Buffer
	if _, err := src.Export(&buf); err != nil {
		t.Fatal(err)
	}
	count := func(s event.Source) (tokens, policies int, hashes string) {
		t.Helper()
		err := s.(event.ACLSource).ScanACL(func(tok *event.ACLToken) error {
			tokens++
			hashes += tok.SecretHash + " "
			return nil
		}, func(*event.ACLPolicy) error { policies++; return nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	_, snap, err := SnapshotSource(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// The anonymous token and one initial management token: the second
	// init found its secret in use and changed nothing.
	if tokens, policies, hashes := count(snap); tokens != 2 || policies != 1 || !strings.Contains(hashes, acl.HashSecret(testSecret)) {
		t.Fatalf("snapshot source: %d tokens %d policies (%s)", tokens, policies, hashes)
	}
	// What client agents load carries the hashes, not the secrets.
	var public bytes.Buffer
	if _, err := src.ExportWithoutSecrets(&public); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(public.Bytes(), []byte(testSecret)) || bytes.Contains(public.Bytes(), []byte(AnonymousSecretID)) {
		t.Fatal("ExportWithoutSecrets carries a SecretID")
	}
	_, pubSnap, err := SnapshotSource(public.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if tokens, _, hashes := count(pubSnap); tokens != 2 || !strings.Contains(hashes, acl.HashSecret(testSecret)) ||
		!strings.Contains(hashes, acl.HashSecret(AnonymousSecretID)) {
		t.Fatalf("snapshot without secrets: %d tokens (%s)", tokens, hashes)
	}
	dst := open(t, Config{Shard: event.ShardSystem})
	if err := dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	if secret, ok, _ := dst.ACLTokenSecret(testAccessor); !ok || secret != testSecret {
		t.Fatalf("recovered replica lost the token's secret: %q %v", secret, ok)
	}
}
