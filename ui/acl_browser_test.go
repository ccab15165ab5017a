package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// operatorRules are the rules of the token the ACL test logs in with: it
// may read the ACLs but not write them, so the API hides other tokens'
// SecretIDs from it.
const operatorRules = `acl = "read"
agent_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }
service_prefix "" { policy = "read" }
key_prefix "" { policy = "read" }`

// With ACLs enforced and a token logged in, the ACL pages list the tokens
// (with their policies) and show a policy's rules; a token's page shows no
// SecretID the API does not answer. A management token creates and deletes
// a policy in the page.
func TestACLPagesShowTokensAndAPolicysRules(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-node=srv", "-data-dir="+t.TempDir(), "-ui",
		"-hcl", `acl { enabled = true
default_policy = "deny" }`)
	root, _, err := agenttest.Client(t, a.HTTPAddr()).ACL().Bootstrap()
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: root.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	pol, _, err := c.ACL().PolicyCreate(&api.ACLPolicy{Name: "operator-read", Description: "reads everything", Rules: operatorRules}, nil)
	if err != nil {
		t.Fatalf("create a policy: %v", err)
	}
	role, _, err := c.ACL().RoleCreate(&api.ACLRole{Name: "operators", Description: "the on-call operators",
		Policies: []*api.ACLRolePolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatalf("create a role: %v", err)
	}
	op, _, err := c.ACL().TokenCreate(&api.ACLToken{Description: "operator on call",
		Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}, Roles: []*api.ACLTokenRoleLink{{ID: role.ID}}}, nil)
	if err != nil {
		t.Fatalf("create a token: %v", err)
	}

	p := openPage(t, a.HTTPAddr(), 1280, 800)
	// The token goes into the browser's storage before the page's scripts
	// first run: with default_policy deny, an anonymous page's first
	// requests would be refused, and the browser logs a refused request as
	// an error.
	p.run("log in before the page loads", func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tgt, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: sel(`localStorage.getItem("herald.token") || localStorage.setItem("herald.token", "%s")`, op.SecretID)})
		return chromedp.Void{}, err
	})
	p.open("token")
	p.waitFor("the login page has the token", sel(`document.querySelector('input[name="token"]') && document.querySelector('input[name="token"]').value === "%s"`, op.SecretID))
	p.waitFor("the nav shows the ACL views", `Array.from(document.querySelectorAll('header.top nav a')).some(a => a.innerText === "ACLs")`)
	p.click("header.top nav a", "ACLs")
	p.waitFor("the tokens list shows the operator's token",
		sel(`document.querySelector('tr[data-accessor="%s"]')`, op.AccessorID)+
			sel(` && document.querySelector('tr[data-accessor="%s"]').innerText.includes("operator-read")`, op.AccessorID)+
			sel(` && document.querySelector('tr[data-accessor="%s"]').innerText.includes("operators")`, op.AccessorID))
	p.waitFor("the tokens list shows the bootstrap token", sel(`document.querySelector('tr[data-accessor="%s"]')`, root.AccessorID))
	if txt := p.text("main"); strings.Contains(txt, root.SecretID) || strings.Contains(txt, op.SecretID) {
		t.Fatalf("the tokens list shows a SecretID:\n%s", txt)
	}
	p.shot("acl-tokens")

	// The bootstrap token's page: the API hides its SecretID from a token
	// without acl:write, and so does the page.
	p.open("acls/tokens/" + root.AccessorID)
	p.waitFor("the token's page loads", sel(`document.querySelector('main').innerText.includes("%s")`, root.AccessorID))
	if txt := p.text("main"); strings.Contains(txt, root.SecretID) {
		t.Fatalf("the token's page shows the bootstrap SecretID to a read-only token:\n%s", txt)
	}

	p.open("acls/policies")
	p.waitFor("the policies list", `document.querySelector('tr[data-policy="operator-read"]') && document.querySelector('tr[data-policy="global-management"]')`)
	p.click(`tr[data-policy="operator-read"] a`, "operator-read")
	p.waitFor("the policy's rules show as text", `document.querySelector('pre.rules') && document.querySelector('pre.rules').innerText.includes('key_prefix "" { policy = "read" }')`)
	p.shot("acl-policy")

	p.open("acls/roles")
	p.waitFor("the roles list", `document.querySelector('tr[data-role="operators"]') && document.querySelector('tr[data-role="operators"]').innerText.includes("operator-read")`)
	p.click(`tr[data-role="operators"] a`, "operators")
	p.waitFor("the role's page", `document.querySelector('dl.fields') && document.querySelector('dl.fields').innerText.includes("the on-call operators")`)

	// A token that may not read the ACLs is told so.
	agentReader, _, err := c.ACL().PolicyCreate(&api.ACLPolicy{Name: "agent-read", Rules: `agent_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	noACL, _, err := c.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: agentReader.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.expect("status of 403 (Forbidden) http://" + a.HTTPAddr() + "/v1/acl/tokens")
	p.do("log in as a token without acl:read", sel(`localStorage.setItem("herald.token", "%s")`, noACL.SecretID))
	p.open("acls/tokens")
	p.waitFor("the page says the token may not read ACLs", `document.querySelector('[role="alert"]') && document.querySelector('[role="alert"]').innerText.includes("Permission denied")`)

	// With the bootstrap token, a policy is created in the page and
	// deleted after a confirmation; the API sees both.
	p.do("log in as the bootstrap token", sel(`localStorage.setItem("herald.token", "%s")`, root.SecretID))
	p.open("acls/policies")
	p.waitFor("the policies list", `document.querySelector('tr[data-policy="operator-read"]')`)
	p.click("details.new-policy summary", "New policy")
	p.typeIn(`input[name="policy-name"]`, "web-writer")
	p.typeIn(`input[name="policy-description"]`, "registers web")
	p.typeIn(`textarea[name="policy-rules"]`, `service "web" { policy = "write" }`)
	p.click(`details.new-policy button[type=submit]`, "Create")
	p.waitFor("the new policy's page", `document.querySelector('pre.rules') && document.querySelector('pre.rules').innerText.includes('service "web"')`)
	created, _, err := c.ACL().PolicyReadByName("web-writer", nil)
	if err != nil || created == nil || created.Description != "registers web" || created.Rules != `service "web" { policy = "write" }` {
		t.Fatalf("the policy created in the page, through the API: %+v %v", created, err)
	}
	p.waitFor("the address names the new policy", sel(`location.pathname.endsWith("/acls/policies/%s")`, created.ID))
	p.click("main button.danger", "Delete")
	p.waitFor("the delete asks first", `document.querySelector('dialog[open]')`)
	p.click(`dialog[open] button.danger`, "Delete")
	p.waitFor("back on the list, without the policy", `location.pathname.endsWith("/acls/policies") && document.querySelector('tr[data-policy="operator-read"]') && !document.querySelector('tr[data-policy="web-writer"]')`)
	// A policy that is not there is answered 403 "ACL not found", as
	// Consul answers it.
	if gone, _, err := c.ACL().PolicyRead(created.ID, nil); gone != nil || (err != nil && !strings.Contains(err.Error(), "ACL not found")) {
		t.Fatalf("the policy deleted in the page, through the API: %+v %v", gone, err)
	}
}

// With ACLs off, the ACL pages say so (the API answers 401 "ACL support
// disabled").
func TestACLPagesSayACLsAreDisabled(t *testing.T) {
	a, _ := startUI(t)
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.expect("status of 401 (Unauthorized) http://" + a.HTTPAddr() + "/v1/acl/policies")
	p.open("acls/policies")
	p.waitFor("the page says ACLs are disabled", `document.querySelector('[role="alert"]') && document.querySelector('[role="alert"]').innerText.includes("ACLs are disabled")`)
	if nav := p.text("header.top nav"); strings.Contains(nav, "ACLs") {
		t.Fatalf("the navigation offers the ACL views without a token: %q", nav)
	}
}
