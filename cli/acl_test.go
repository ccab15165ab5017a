package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
)

// These tests run the acl commands against fakeACLServer (see
// acl_fake_test.go) and check what they send and print.

func mustSucceed(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

// decodeJSON decodes a -format=json output into v.
func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestACLBootstrap(t *testing.T) {
	f := newFakeACLServer(t)
	r := mustSucceed(t, f.run(t, "acl", "bootstrap"))
	want := "AccessorID:       01000001-0000-4000-8000-000000000001\n" +
		"SecretID:         02000002-0000-4000-8000-000000000002\n" +
		"Description:      Bootstrap Token (Global Management)\n" +
		"Local:            false\n" +
		"Create Time:      2026-01-02 03:04:05 +0000 UTC\n" +
		"Policies:\n" +
		"   00000000-0000-0000-0000-000000000001 - global-management\n\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%q\nwant:\n%q", r.stdout, want)
	}

	// A second bootstrap is refused by the server; the CLI says so as
	// Consul's does, and fails.
	r = f.run(t, "acl", "bootstrap")
	wantErr := "Failed ACL bootstrapping: Unexpected response code: 403 " +
		"(Permission denied: ACL bootstrap no longer allowed (reset index: 7))\n"
	if r.code != 1 || r.stderr != wantErr {
		t.Errorf("second bootstrap: exit %d, stderr %q; want 1, %q", r.code, r.stderr, wantErr)
	}
}

func TestACLBootstrapWithSecretFile(t *testing.T) {
	f := newFakeACLServer(t)
	secret := "3d7f0c4e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"
	path := writeFile(t, "secret", secret+"\n")
	r := mustSucceed(t, f.run(t, "acl", "bootstrap", "-format=json", path))
	var tok api.ACLToken
	decodeJSON(t, r.stdout, &tok)
	if tok.SecretID != secret {
		t.Errorf("SecretID %q, want %q (from the file, newline dropped)", tok.SecretID, secret)
	}
	if body := f.lastWrite(t).Body; !strings.Contains(body, `"BootstrapSecret":"`+secret+`"`) {
		t.Errorf("bootstrap body %s lacks the secret", body)
	}

	r = f.run(t, "acl", "bootstrap", "a", "b")
	if r.code != 1 || r.stderr != "This command takes up to one argument\n" {
		t.Errorf("two arguments: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestACLPolicyLifecycle(t *testing.T) {
	f := newFakeACLServer(t)
	rules := "service_prefix \"\" {\n  policy = \"read\"\n}\n"
	rulesFile := writeFile(t, "rules.hcl", rules)

	r := mustSucceed(t, f.run(t, "acl", "policy", "create", "-name", "readers",
		"-description", "read all services", "-valid-datacenter", "dc1", "-valid-datacenter", "dc2",
		"-rules", "@"+rulesFile))
	var sent api.ACLPolicy
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if sent.Name != "readers" || sent.Rules != rules || strings.Join(sent.Datacenters, ",") != "dc1,dc2" ||
		sent.Description != "read all services" {
		t.Errorf("create sent %+v", sent)
	}
	want := "ID:           01000001-0000-4000-8000-000000000001\n" +
		"Name:         readers\n" +
		"Description:  read all services\n" +
		"Datacenters:  dc1, dc2\n" +
		"Rules:\n" + rules + "\n"
	if r.stdout != want {
		t.Errorf("create stdout:\n%q\nwant:\n%q", r.stdout, want)
	}

	// Read by name, and by a unique prefix of the ID, as JSON.
	r = mustSucceed(t, f.run(t, "acl", "policy", "read", "-name", "readers"))
	if r.stdout != want {
		t.Errorf("read -name stdout:\n%q\nwant:\n%q", r.stdout, want)
	}
	r = mustSucceed(t, f.run(t, "acl", "policy", "read", "-id", "01", "-format", "json"))
	var got api.ACLPolicy
	decodeJSON(t, r.stdout, &got)
	if got.ID != "01000001-0000-4000-8000-000000000001" || got.Rules != rules {
		t.Errorf("read -id prefix -format json: %+v", got)
	}

	// Update merges: only the description changes.
	mustSucceed(t, f.run(t, "acl", "policy", "update", "-id", "01", "-description", "new words"))
	sent = api.ACLPolicy{}
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if sent.Description != "new words" || sent.Rules != rules || sent.Name != "readers" ||
		len(sent.Datacenters) != 2 {
		t.Errorf("merged update sent %+v", sent)
	}
	// -no-merge replaces every field.
	mustSucceed(t, f.run(t, "acl", "policy", "update", "-id", "01", "-no-merge", "-name", "renamed",
		"-rules", `key_prefix "" { policy = "read" }`))
	sent = api.ACLPolicy{}
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if sent.Name != "renamed" || sent.Description != "" || len(sent.Datacenters) != 0 ||
		sent.Rules != `key_prefix "" { policy = "read" }` {
		t.Errorf("no-merge update sent %+v", sent)
	}

	r = mustSucceed(t, f.run(t, "acl", "policy", "list"))
	wantList := "global-management:\n" +
		"   ID:           00000000-0000-0000-0000-000000000001\n" +
		"   Description:  Builtin Policy that grants unlimited access\n" +
		"   Datacenters:  \n" +
		"renamed:\n" +
		"   ID:           01000001-0000-4000-8000-000000000001\n" +
		"   Description:  \n" +
		"   Datacenters:  \n\n"
	if r.stdout != wantList {
		t.Errorf("list stdout:\n%q\nwant:\n%q", r.stdout, wantList)
	}

	r = mustSucceed(t, f.run(t, "acl", "policy", "delete", "-name", "renamed"))
	if r.stdout != "Policy \"01000001-0000-4000-8000-000000000001\" deleted successfully\n" {
		t.Errorf("delete stdout %q", r.stdout)
	}
	if w := f.lastWrite(t); w.Method != "DELETE" || w.Path != "/v1/acl/policy/01000001-0000-4000-8000-000000000001" {
		t.Errorf("delete sent %s %s", w.Method, w.Path)
	}
	r = f.run(t, "acl", "policy", "read", "-name", "renamed")
	if r.code != 1 || !strings.Contains(r.stderr, "Failed to find policy with name renamed") {
		t.Errorf("read of a deleted policy: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestACLPolicyRulesFromStdin(t *testing.T) {
	f := newFakeACLServer(t)
	rules := `node_prefix "" { policy = "write" }`
	r := invocation{env: f.env(), stdin: rules}.run(t, "acl", "policy", "create", "-name", "p", "-rules", "-")
	mustSucceed(t, r)
	var sent api.ACLPolicy
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if sent.Rules != rules {
		t.Errorf("rules sent %q, want %q", sent.Rules, rules)
	}
}

func TestACLPolicyRulesMissingFile(t *testing.T) {
	f := newFakeACLServer(t)
	missing := filepath.Join(t.TempDir(), "nope.hcl")
	r := f.run(t, "acl", "policy", "create", "-name", "p", "-rules", "@"+missing)
	want := "Error loading rules: Failed to read file: open " + missing + ": no such file or directory\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
	if len(f.received()) != 0 {
		t.Errorf("requests sent despite the bad -rules: %+v", f.received())
	}
}

func TestACLTokenCreate(t *testing.T) {
	f := newFakeACLServer(t)
	mustSucceed(t, f.run(t, "acl", "policy", "create", "-name", "writers")) // 01000001-...
	mustSucceed(t, f.run(t, "acl", "role", "create", "-name", "ops", "-policy-name", "writers"))

	r := mustSucceed(t, f.run(t, "acl", "token", "create", "-description", "deploy token",
		"-policy-id", "01", "-policy-name", "global-management", "-role-name", "ops",
		"-service-identity", "web", "-service-identity", "db:east,west", "-node-identity", "n1:dc1",
		"-expires-ttl", "1h", "-local", "-secret", "6a1b0f1e-3c8d-4f5e-9a7b-2c4d6e8f0a1b"))

	var sent api.ACLToken
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if sent.Description != "deploy token" || !sent.Local || sent.ExpirationTTL != time.Hour ||
		sent.SecretID != "6a1b0f1e-3c8d-4f5e-9a7b-2c4d6e8f0a1b" {
		t.Errorf("create sent %+v", sent)
	}
	if len(sent.Policies) != 2 || sent.Policies[0].Name != "global-management" ||
		sent.Policies[1].ID != "01000001-0000-4000-8000-000000000001" {
		t.Errorf("policy links sent: %s", f.lastWrite(t).Body)
	}
	if len(sent.ServiceIdentities) != 2 || sent.ServiceIdentities[1].ServiceName != "db" ||
		strings.Join(sent.ServiceIdentities[1].Datacenters, ",") != "east,west" ||
		len(sent.NodeIdentities) != 1 || sent.NodeIdentities[0].Datacenter != "dc1" {
		t.Errorf("identities sent: %s", f.lastWrite(t).Body)
	}

	want := "AccessorID:       03000003-0000-4000-8000-000000000003\n" +
		"SecretID:         6a1b0f1e-3c8d-4f5e-9a7b-2c4d6e8f0a1b\n" +
		"Description:      deploy token\n" +
		"Local:            true\n" +
		"Create Time:      2026-01-02 03:04:05 +0000 UTC\n" +
		"Expiration Time:  2026-01-02 04:04:05 +0000 UTC\n" +
		"Policies:\n" +
		"   00000000-0000-0000-0000-000000000001 - global-management\n" +
		"   01000001-0000-4000-8000-000000000001 - writers\n" +
		"Roles:\n" +
		"   02000002-0000-4000-8000-000000000002 - ops\n" +
		"Service Identities:\n" +
		"   web (Datacenters: all)\n" +
		"   db (Datacenters: east, west)\n" +
		"Node Identities:\n" +
		"   n1 (Datacenter: dc1)\n\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	r = mustSucceed(t, f.run(t, "acl", "token", "create", "-policy-name", "writers", "-format=json",
		"-accessor", "0f0f0f0f-0000-4000-8000-000000000000"))
	var tok api.ACLToken
	decodeJSON(t, r.stdout, &tok)
	if tok.AccessorID != "0f0f0f0f-0000-4000-8000-000000000000" || len(tok.Policies) != 1 ||
		tok.Policies[0].Name != "writers" {
		t.Errorf("-format=json token: %+v", tok)
	}

	r = f.run(t, "acl", "token", "create", "-policy-id", "ff")
	if r.code != 1 || r.stderr != "Error resolving policy ID ff: No such policy ID with prefix: ff\n" {
		t.Errorf("unknown policy prefix: exit %d, stderr %q", r.code, r.stderr)
	}

	// A malformed identity is refused before anything is written.
	before := len(f.received())
	r = f.run(t, "acl", "token", "create", "-node-identity", "n1")
	if r.code != 1 || r.stderr != "Malformed -node-identity argument: \"n1\"\n" {
		t.Errorf("malformed node identity: exit %d, stderr %q", r.code, r.stderr)
	}
	if len(f.received()) != before {
		t.Errorf("requests sent for a malformed identity: %+v", f.received()[before:])
	}
}

func TestACLTokenReadByPrefixAndSelf(t *testing.T) {
	f := newFakeACLServer(t)
	mustSucceed(t, f.run(t, "acl", "bootstrap")) // accessor 01000001-..., secret 02000002-...
	mustSucceed(t, f.run(t, "acl", "token", "create", "-policy-name", "global-management",
		"-description", "second")) // accessor 03000003-...

	r := mustSucceed(t, f.run(t, "acl", "token", "read", "-id", "03", "-format", "json"))
	var tok api.ACLToken
	decodeJSON(t, r.stdout, &tok)
	if tok.AccessorID != "03000003-0000-4000-8000-000000000003" || tok.Description != "second" {
		t.Errorf("read by prefix: %+v", tok)
	}
	r = mustSucceed(t, f.run(t, "acl", "token", "read", "-accessor-id", "030"))
	if !strings.HasPrefix(r.stdout, "AccessorID:       03000003-0000-4000-8000-000000000003\n") {
		t.Errorf("read -accessor-id prefix:\n%s", r.stdout)
	}

	r = f.run(t, "acl", "token", "read", "-id", "0")
	if r.code != 1 || r.stderr != "Error determining token ID: Partial token ID is not unique\n" {
		t.Errorf("ambiguous prefix: exit %d, stderr %q", r.code, r.stderr)
	}
	r = f.run(t, "acl", "token", "read", "-id", "ff")
	if r.code != 1 || r.stderr != "Error determining token ID: No such token ID with prefix: ff\n" {
		t.Errorf("unknown prefix: exit %d, stderr %q", r.code, r.stderr)
	}

	// -self reads the token the request is made with, by its secret.
	secret := "02000002-0000-4000-8000-000000000002"
	env := f.env()
	env["CONSUL_HTTP_TOKEN"] = secret
	r = mustSucceed(t, invocation{env: env}.run(t, "acl", "token", "read", "-self"))
	if !strings.HasPrefix(r.stdout, "AccessorID:       01000001-0000-4000-8000-000000000001\n") {
		t.Errorf("read -self:\n%s", r.stdout)
	}
	all := f.received()
	last := all[len(all)-1]
	if last.Path != "/v1/acl/token/self" || last.Token != secret {
		t.Errorf("read -self sent %s with token %q", last.Path, last.Token)
	}
}

func TestACLTokenUpdate(t *testing.T) {
	f := newFakeACLServer(t)
	mustSucceed(t, f.run(t, "acl", "policy", "create", "-name", "a")) // 01
	mustSucceed(t, f.run(t, "acl", "policy", "create", "-name", "b")) // 02
	mustSucceed(t, f.run(t, "acl", "token", "create", "-policy-name", "a", "-description", "tok",
		"-service-identity", "web")) // 03

	sentPolicies := func() []string {
		var sent api.ACLToken
		decodeJSON(t, f.lastWrite(t).Body, &sent)
		var names []string
		for _, p := range sent.Policies {
			names = append(names, p.ID+p.Name)
		}
		return names
	}

	// -append-policy-name keeps the current policies.
	mustSucceed(t, f.run(t, "acl", "token", "update", "-accessor-id", "03", "-append-policy-name", "b"))
	if got := strings.Join(sentPolicies(), ","); got != "01000001-0000-4000-8000-000000000001a,b" {
		t.Errorf("append sent policies %s", got)
	}
	// -policy-name replaces them; the description and identities are kept.
	r := mustSucceed(t, f.run(t, "acl", "token", "update", "-id", "03", "-policy-name", "b", "-format", "json"))
	if got := strings.Join(sentPolicies(), ","); got != "b" {
		t.Errorf("replace sent policies %s", got)
	}
	var tok api.ACLToken
	decodeJSON(t, r.stdout, &tok)
	if tok.Description != "tok" || len(tok.ServiceIdentities) != 1 {
		t.Errorf("update lost fields: %+v", tok)
	}
	// -merge-policies with -policy-id adds, skipping one already linked.
	mustSucceed(t, f.run(t, "acl", "token", "update", "-id", "03", "-merge-policies",
		"-policy-id", "01", "-policy-id", "02"))
	if got := strings.Join(sentPolicies(), ","); got !=
		"02000002-0000-4000-8000-000000000002b,01000001-0000-4000-8000-000000000001" {
		t.Errorf("merge sent policies %s", got)
	}
	// -merge-service-identities replaces the identity of the same service.
	mustSucceed(t, f.run(t, "acl", "token", "update", "-id", "03", "-merge-service-identities",
		"-service-identity", "web:dc2", "-service-identity", "db"))
	var sent api.ACLToken
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if len(sent.ServiceIdentities) != 2 || sent.ServiceIdentities[0].ServiceName != "web" ||
		strings.Join(sent.ServiceIdentities[0].Datacenters, ",") != "dc2" ||
		sent.ServiceIdentities[1].ServiceName != "db" {
		t.Errorf("merged service identities sent: %s", f.lastWrite(t).Body)
	}

	r = f.run(t, "acl", "token", "update", "-id", "03", "-policy-name", "a", "-append-policy-name", "b")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Cannot combine the use of policy-id/policy-name flags with append- variants.") {
		t.Errorf("replace and append together: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestACLTokenCloneListDelete(t *testing.T) {
	f := newFakeACLServer(t)
	if r := mustSucceed(t, f.run(t, "acl", "token", "list")); r.stdout != "" {
		t.Errorf("empty list printed %q", r.stdout)
	}
	mustSucceed(t, f.run(t, "acl", "token", "create", "-policy-name", "global-management",
		"-description", "orig")) // 01 accessor, 02 secret

	r := mustSucceed(t, f.run(t, "acl", "token", "clone", "-accessor-id", "01", "-description", "copy"))
	if w := f.lastWrite(t); w.Path != "/v1/acl/token/01000001-0000-4000-8000-000000000001/clone" ||
		!strings.Contains(w.Body, `"Description":"copy"`) {
		t.Errorf("clone sent %s %s", w.Path, w.Body)
	}
	if !strings.HasPrefix(r.stdout, "AccessorID:       03000003-0000-4000-8000-000000000003\n") ||
		!strings.Contains(r.stdout, "Description:      copy\n") {
		t.Errorf("clone stdout:\n%s", r.stdout)
	}

	r = mustSucceed(t, f.run(t, "acl", "token", "list"))
	entry := func(accessor, secret, desc string) string {
		return "AccessorID:       " + accessor + "\n" +
			"SecretID:         " + secret + "\n" +
			"Description:      " + desc + "\n" +
			"Local:            false\n" +
			"Create Time:      2026-01-02 03:04:05 +0000 UTC\n" +
			"Legacy:           false\n" +
			"Policies:\n" +
			"   00000000-0000-0000-0000-000000000001 - global-management\n"
	}
	want := entry("01000001-0000-4000-8000-000000000001", "02000002-0000-4000-8000-000000000002", "orig") + "\n" +
		entry("03000003-0000-4000-8000-000000000003", "04000004-0000-4000-8000-000000000004", "copy") + "\n"
	if r.stdout != want {
		t.Errorf("list stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = mustSucceed(t, f.run(t, "acl", "token", "list", "-format", "json"))
	var entries []*api.ACLTokenListEntry
	decodeJSON(t, r.stdout, &entries)
	if len(entries) != 2 || entries[1].Description != "copy" {
		t.Errorf("list -format json: %s", r.stdout)
	}

	r = mustSucceed(t, f.run(t, "acl", "token", "delete", "-id", "03"))
	if r.stdout != "Token \"03000003-0000-4000-8000-000000000003\" deleted successfully\n" {
		t.Errorf("delete stdout %q", r.stdout)
	}
	if w := f.lastWrite(t); w.Method != "DELETE" || w.Path != "/v1/acl/token/03000003-0000-4000-8000-000000000003" {
		t.Errorf("delete sent %s %s", w.Method, w.Path)
	}
	// "anonymous" names the anonymous token without a listing.
	mustSucceed(t, f.run(t, "acl", "token", "delete", "-accessor-id", "anonymous"))
	if w := f.lastWrite(t); w.Path != "/v1/acl/token/"+acl.AnonymousTokenID {
		t.Errorf("delete anonymous sent %s", w.Path)
	}
}

func TestACLRoleLifecycle(t *testing.T) {
	f := newFakeACLServer(t)
	mustSucceed(t, f.run(t, "acl", "policy", "create", "-name", "db-write")) // 01

	r := mustSucceed(t, f.run(t, "acl", "role", "create", "-name", "db", "-description", "database",
		"-policy-id", "01", "-service-identity", "db:dc1", "-node-identity", "n1:dc1"))
	want := "ID:           02000002-0000-4000-8000-000000000002\n" +
		"Name:         db\n" +
		"Description:  database\n" +
		"Policies:\n" +
		"   01000001-0000-4000-8000-000000000001 - db-write\n" +
		"Service Identities:\n" +
		"   db (Datacenters: dc1)\n" +
		"Node Identities:\n" +
		"   n1 (Datacenter: dc1)\n\n"
	if r.stdout != want {
		t.Errorf("create stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = mustSucceed(t, f.run(t, "acl", "role", "read", "-name", "db"))
	if r.stdout != want {
		t.Errorf("read -name stdout:\n%s", r.stdout)
	}

	// Update merges by default: the policy given is added, the name kept.
	mustSucceed(t, f.run(t, "acl", "role", "update", "-id", "02", "-policy-name", "global-management",
		"-description", "db and more"))
	var sent api.ACLRole
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if sent.Name != "db" || sent.Description != "db and more" || len(sent.Policies) != 2 ||
		len(sent.ServiceIdentities) != 1 || len(sent.NodeIdentities) != 1 {
		t.Errorf("merged role update sent %s", f.lastWrite(t).Body)
	}
	mustSucceed(t, f.run(t, "acl", "role", "update", "-id", "02", "-no-merge", "-name", "db2",
		"-policy-name", "db-write"))
	sent = api.ACLRole{}
	decodeJSON(t, f.lastWrite(t).Body, &sent)
	if sent.Name != "db2" || sent.Description != "" || len(sent.Policies) != 1 ||
		len(sent.ServiceIdentities) != 0 {
		t.Errorf("no-merge role update sent %s", f.lastWrite(t).Body)
	}

	r = mustSucceed(t, f.run(t, "acl", "role", "list"))
	wantList := "db2:\n" +
		"   ID:           02000002-0000-4000-8000-000000000002\n" +
		"   Description:  \n" +
		"   Policies:\n" +
		"      01000001-0000-4000-8000-000000000001 - db-write\n\n"
	if r.stdout != wantList {
		t.Errorf("list stdout:\n%q\nwant:\n%q", r.stdout, wantList)
	}

	r = mustSucceed(t, f.run(t, "acl", "role", "delete", "-name", "db2"))
	if r.stdout != "Role \"02000002-0000-4000-8000-000000000002\" deleted successfully\n" {
		t.Errorf("delete stdout %q", r.stdout)
	}
	r = f.run(t, "acl", "role", "read", "-id", "02000002-0000-4000-8000-000000000002")
	if r.code != 1 || r.stderr != "Role not found with ID \"02000002-0000-4000-8000-000000000002\"\n" {
		t.Errorf("read of a deleted role: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestACLSetAgentToken(t *testing.T) {
	f := newFakeACLServer(t)
	r := mustSucceed(t, f.run(t, "acl", "set-agent-token", "default", "c4d0f8df-3aba-4ab6-a7a0-35b760dc29a1"))
	if r.stdout != "ACL token \"default\" set successfully\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	if got := f.agentToken("default"); got != "c4d0f8df-3aba-4ab6-a7a0-35b760dc29a1" {
		t.Errorf("agent default token %q", got)
	}
	r = invocation{env: f.env(), stdin: "5e1f9a2b-0000-4000-8000-000000000000\n"}.run(t,
		"acl", "set-agent-token", "replication", "-")
	mustSucceed(t, r)
	if w := f.lastWrite(t); w.Method != "PUT" || w.Path != "/v1/agent/token/replication" ||
		f.agentToken("replication") != "5e1f9a2b-0000-4000-8000-000000000000" {
		t.Errorf("replication token: sent %s %s, stored %q", w.Method, w.Path, f.agentToken("replication"))
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Error! Missing TYPE and TOKEN arguments\n"},
		{[]string{"agent"}, "Error! Missing TOKEN argument\n"},
		{[]string{"bogus", "x"}, "Unknown token type\n"},
		{[]string{"a", "b", "c"}, "Error! Too many arguments: expected 2 got 3\n"},
	} {
		r := f.run(t, append([]string{"acl", "set-agent-token"}, tc.args...)...)
		if r.code != 1 || r.stderr != tc.want {
			t.Errorf("%v: exit %d, stderr %q; want 1, %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestACLMissingRequiredFlags checks Consul's usage errors: exit 1, the
// message on stderr, and no request sent.
func TestACLMissingRequiredFlags(t *testing.T) {
	f := newFakeACLServer(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "create"}, "Cannot create a token without specifying -policy-name, -policy-id, " +
			"-role-name, -role-id, -service-identity, or -node-identity at least once\n"},
		{[]string{"token", "read"}, "Must specify the -accessor-id parameter\n"},
		{[]string{"token", "update", "-description", "x"}, "Cannot update a token without specifying the -accessor-id parameter\n"},
		{[]string{"token", "delete"}, "Must specify the -accessor-id parameter\n"},
		{[]string{"token", "clone"}, "Cannot clone a token without specifying the -accessor-id parameter\n"},
		{[]string{"policy", "read"}, "Must specify either the -id or -name parameters\n"},
		{[]string{"policy", "update"}, "Must specify either the -id or -name parameters\n"},
		{[]string{"policy", "delete"}, "Must specify either the -id or -name parameters\n"},
		{[]string{"role", "create", "-name", "r"}, "Cannot create a role without specifying -policy-name, " +
			"-policy-id, -service-identity, or -node-identity at least once\n"},
		{[]string{"role", "read"}, "Must specify either the -id or -name parameters\n"},
		{[]string{"role", "update"}, "Cannot update a role without specifying the -id parameter\n"},
		{[]string{"role", "delete"}, "Must specify the -id or -name parameters\n"},
		{[]string{"token", "list", "-format", "yaml"}, "Unknown format: yaml\n"},
	} {
		r := f.run(t, append([]string{"acl"}, tc.args...)...)
		if r.code != 1 || r.stderr != tc.want {
			t.Errorf("acl %v: exit %d, stderr %q; want 1, %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	for _, args := range [][]string{{"policy", "create"}, {"role", "create", "-policy-name", "p"}} {
		r := f.run(t, append([]string{"acl"}, args...)...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "Missing require '-name' flag\nUsage: herald acl ") {
			t.Errorf("acl %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if len(f.received()) != 0 {
		t.Errorf("usage errors sent requests: %+v", f.received())
	}
}

// TestACLPermissionDenied checks that a 403 is printed as Consul prints
// it, and that the secret the request carried appears nowhere in it.
func TestACLPermissionDenied(t *testing.T) {
	f := newFakeACLServer(t)
	secret := "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	f.deny(secret)
	env := f.env()
	env["CONSUL_HTTP_TOKEN"] = secret
	for _, tc := range []struct {
		args []string
		lead string
	}{
		{[]string{"token", "list"}, "Failed to retrieve the token list: "},
		{[]string{"policy", "create", "-name", "p"}, "Failed to create new policy: "},
		{[]string{"role", "list"}, "Failed to retrieve the role list: "},
		{[]string{"token", "read", "-id", "01"}, "Error determining token ID: "},
		{[]string{"set-agent-token", "agent", "x"}, "Failed to set ACL token \"agent\": "},
	} {
		r := invocation{env: env}.run(t, append([]string{"acl"}, tc.args...)...)
		want := tc.lead + "Unexpected response code: 403 (Permission denied: token with AccessorID '" +
			fakeDeniedAccessor + "' lacks permission 'acl:write')\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("acl %v: exit %d, stderr %q; want 1, %q", tc.args, r.code, r.stderr, want)
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("acl %v printed the request's secret", tc.args)
		}
	}
}

func TestACLHelp(t *testing.T) {
	r := runCLI(t, "acl", "-help")
	for _, sub := range []string{"bootstrap", "policy", "role", "set-agent-token", "token"} {
		if r.code != 0 || !strings.Contains(r.stdout, "\n    "+sub) {
			t.Errorf("acl -help (exit %d) lacks %q:\n%s", r.code, sub, r.stdout)
		}
	}
	r = runCLI(t, "acl", "token", "create", "-help")
	for _, flag := range []string{"-policy-id", "-service-identity", "-expires-ttl", "-format", "-http-addr"} {
		if r.code != 0 || !strings.Contains(r.stdout, "\n  "+flag) {
			t.Errorf("acl token create -help (exit %d) lacks %s", r.code, flag)
		}
	}
}
