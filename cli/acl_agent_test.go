package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/tokens"
)

// TestACLSetAgentTokenAgainstAgent sets the agent's tokens through the
// CLI on a real agent, and checks the refusal of an agent without ACLs.
func TestACLSetAgentTokenAgainstAgent(t *testing.T) {
	// The CLI presents the agent recovery token, which keeps working while
	// the default token is set to a secret no token has.
	a := agenttest.Start(t, "-dev", "-hcl", `acl { enabled = true tokens { agent_recovery = "rec" } }`)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": a.HTTPAddr(), "CONSUL_HTTP_TOKEN": "rec"}}
	for typ, kind := range map[string]string{"default": tokens.Default, "agent": tokens.Agent} {
		secret := typ + "-0b5c2f7e-9d1a-4e3b-8c6f-2a4d6e8f0b1c"
		r := mustSucceed(t, inv.run(t, "acl", "set-agent-token", typ, secret))
		if r.stdout != "ACL token \""+typ+"\" set successfully\n" {
			t.Errorf("%s: stdout %q", typ, r.stdout)
		}
		if got := a.Token(kind); got != secret {
			t.Errorf("agent's %s token is %q, want %q", kind, got, secret)
		}
	}

	off := agenttest.Start(t, "-dev")
	r := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": off.HTTPAddr()}}.run(t,
		"acl", "set-agent-token", "default", "x")
	want := "Failed to set ACL token \"default\": Unexpected response code: 401 (ACL support disabled)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("ACLs disabled: exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
}

// TestACLCommandsAgainstAgent runs the token, policy and role commands on a
// real agent with ACLs on and default deny: bootstrap, then everything with
// the bootstrap token. It is skipped while the agent does not serve
// /v1/acl/*.
func TestACLCommandsAgainstAgent(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-hcl", `acl { enabled = true default_policy = "deny" }`)
	addr := a.HTTPAddr()
	resp, err := http.Get("http://" + addr + "/v1/acl/policies")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skip("this agent does not serve /v1/acl/* yet")
	}

	anon := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	r := mustSucceed(t, anon.run(t, "acl", "bootstrap", "-format=json"))
	var boot api.ACLToken
	decodeJSON(t, r.stdout, &boot)
	if boot.AccessorID == "" || boot.SecretID == "" {
		t.Fatalf("bootstrap token lacks IDs: %s", r.stdout)
	}
	root := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr, "CONSUL_HTTP_TOKEN": boot.SecretID}}

	r = mustSucceed(t, root.run(t, "acl", "token", "read", "-self"))
	if !strings.HasPrefix(r.stdout, "AccessorID:       "+boot.AccessorID+"\n") ||
		!strings.Contains(r.stdout, "global-management") {
		t.Errorf("read -self:\n%s", r.stdout)
	}

	rules := `service_prefix "" { policy = "read" }`
	r = mustSucceed(t, root.run(t, "acl", "policy", "create", "-name", "svc-read", "-rules", rules, "-format=json"))
	var policy api.ACLPolicy
	decodeJSON(t, r.stdout, &policy)
	if policy.ID == "" || policy.Rules != rules {
		t.Fatalf("created policy: %s", r.stdout)
	}
	r = mustSucceed(t, root.run(t, "acl", "policy", "read", "-id", policy.ID[:8]))
	if !strings.HasPrefix(r.stdout, "ID:           "+policy.ID+"\nName:         svc-read\n") {
		t.Errorf("policy read by prefix:\n%s", r.stdout)
	}

	r = mustSucceed(t, root.run(t, "acl", "role", "create", "-name", "readers", "-policy-name", "svc-read"))
	if !strings.Contains(r.stdout, "Policies:\n   "+policy.ID+" - svc-read\n") {
		t.Errorf("role create:\n%s", r.stdout)
	}

	r = mustSucceed(t, root.run(t, "acl", "token", "create", "-description", "reader",
		"-policy-name", "svc-read", "-format=json"))
	var reader api.ACLToken
	decodeJSON(t, r.stdout, &reader)
	if len(reader.Policies) != 1 || reader.Policies[0].ID != policy.ID {
		t.Fatalf("created token: %s", r.stdout)
	}
	r = mustSucceed(t, root.run(t, "acl", "token", "list"))
	if !strings.Contains(r.stdout, "AccessorID:       "+reader.AccessorID+"\n") {
		t.Errorf("token list lacks the new token:\n%s", r.stdout)
	}

	// The reader's token may not manage ACLs: the 403 is printed as Consul
	// prints it, without the secret.
	weak := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr, "CONSUL_HTTP_TOKEN": reader.SecretID}}
	r = weak.run(t, "acl", "token", "list")
	if r.code != 1 || !strings.HasPrefix(r.stderr,
		"Failed to retrieve the token list: Unexpected response code: 403 (Permission denied") {
		t.Errorf("token list with a reader token: exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, reader.SecretID) {
		t.Errorf("the refusal shows the secret: %q", r.stderr)
	}

	r = mustSucceed(t, root.run(t, "acl", "token", "delete", "-accessor-id", reader.AccessorID[:8]))
	if r.stdout != "Token \""+reader.AccessorID+"\" deleted successfully\n" {
		t.Errorf("token delete: %q", r.stdout)
	}
	mustSucceed(t, root.run(t, "acl", "role", "delete", "-name", "readers"))
	mustSucceed(t, root.run(t, "acl", "policy", "delete", "-name", "svc-read"))
}
