package natsauth

import (
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/acl"
)

func TestTokenWithoutGrantsMaySubscribeToNothing(t *testing.T) {
	res := newResolver()
	res.set("nothing", authorizer())
	ts := startServer(t, res)
	c := ts.user(t, "nothing")
	for _, s := range []string{">", "anything", "_INBOX.x"} {
		c.subscribe(t, s)
		c.expectViolation(t, s)
		if err := c.Publish(s, nil); err != nil {
			t.Fatal(err)
		}
		c.expectViolation(t, s)
	}
}

// subscribeFilters are the subscribe filters userPermissions gives authz.
func subscribeFilters(authz acl.Authorizer) (allow, deny []string) {
	p := userPermissions(dc, authz)
	return p.Subscribe.Allow, p.Subscribe.Deny
}

func TestKeyRulesBecomeFilters(t *testing.T) {
	long := strings.Repeat("x", 1000) + "/" + strings.Repeat("y", 1100) + "/"
	for _, tc := range []struct {
		name        string
		rules       []rule
		allow, deny []string
	}{
		{
			name:  "aligned prefix",
			rules: []rule{prefixRule(acl.ResourceKey, "app/", acl.Read)},
			allow: []string{"herald.dc1.kv.app.>"},
		},
		{
			name:  "a prefix within a token grants the name and what is under name/",
			rules: []rule{prefixRule(acl.ResourceKey, "app/conf", acl.List)},
			allow: []string{"herald.dc1.kv.app.conf", "herald.dc1.kv.app.conf.>"},
		},
		{
			name: "a refusing prefix within a token under a granting one denies its aligned parent",
			rules: []rule{prefixRule(acl.ResourceKey, "app/", acl.Read), prefixRule(acl.ResourceKey, "app/sec", acl.Deny),
				exactRule(acl.ResourceKey, "app/x", acl.Write)},
			allow: []string{"herald.dc1.kv.app.>", "herald.dc1.kv.app.x"},
			deny:  []string{"herald.dc1.kv.app.>"},
		},
		{
			name:  "a refusing prefix under a refusing one needs no deny",
			rules: []rule{prefixRule(acl.ResourceKey, "a/", acl.Deny), prefixRule(acl.ResourceKey, "a/b/", acl.Deny), prefixRule(acl.ResourceKey, "a/b/c/", acl.Read)},
			allow: []string{"herald.dc1.kv.a.b.c.>"},
		},
		{
			name:  "every key without session read leaves out single-token subjects (sessions')",
			rules: []rule{prefixRule(acl.ResourceKey, "", acl.Read), exactRule(acl.ResourceKey, "top", acl.Read)},
			allow: []string{"herald.dc1.kv.*.>", "herald.dc1.kv.top"},
		},
		{
			name:  "every key and every session",
			rules: []rule{prefixRule(acl.ResourceKey, "", acl.Read), prefixRule(acl.ResourceSession, "", acl.Read)},
			allow: []string{"herald.dc1.kv.>"},
		},
		{
			name: "the deny of a prefix too long for whole subjects covers its cut subjects",
			rules: []rule{prefixRule(acl.ResourceKey, "x", acl.Read), prefixRule(acl.ResourceKey, long, acl.Deny),
				prefixRule(acl.ResourceSession, "", acl.Read)},
			allow: []string{"herald.dc1.kv.x", "herald.dc1.kv.x.>"},
			deny:  []string{"herald.dc1.kv." + strings.Repeat("x", 1000) + ".>"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allow, deny := subscribeFilters(authorizer(tc.rules...))
			allow = slices.DeleteFunc(allow, func(s string) bool { return !strings.HasPrefix(s, "herald.dc1.kv.") })
			if !slices.Equal(allow, tc.allow) || !slices.Equal(deny, tc.deny) {
				t.Errorf("allow %q deny %q, want allow %q deny %q", allow, deny, tc.allow, tc.deny)
			}
		})
	}
}

func TestCatalogRulesBecomeFilters(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rules       []rule
		allow, deny []string
	}{
		{
			name:  "every node and service",
			rules: []rule{prefixRule(acl.ResourceNode, "", acl.Read), prefixRule(acl.ResourceService, "", acl.Read)},
			allow: []string{"herald.dc1.catalog.check.>", "herald.dc1.catalog.node.>", "herald.dc1.catalog.service.>"},
		},
		{
			name: "every service but one, on one node",
			rules: []rule{exactRule(acl.ResourceNode, "n1", acl.Read), prefixRule(acl.ResourceService, "", acl.Read),
				exactRule(acl.ResourceService, "vault", acl.Deny)},
			allow: []string{"herald.dc1.catalog.node.n1", "herald.dc1.catalog.service.*.n1.*"},
			deny:  []string{"herald.dc1.catalog.service.vault.>"},
		},
		{
			name: "a refusing service prefix leaves only named services",
			rules: []rule{prefixRule(acl.ResourceNode, "", acl.Read), prefixRule(acl.ResourceService, "", acl.Read),
				prefixRule(acl.ResourceService, "secret-", acl.Deny), exactRule(acl.ResourceService, "web", acl.Read)},
			allow: []string{"herald.dc1.catalog.node.>", "herald.dc1.catalog.service.web.>"},
		},
		{
			name: "a denied node",
			rules: []rule{prefixRule(acl.ResourceNode, "", acl.Read), exactRule(acl.ResourceNode, "db.1", acl.Deny),
				prefixRule(acl.ResourceService, "", acl.Read)},
			allow: []string{"herald.dc1.catalog.check.*.>", "herald.dc1.catalog.node.*", "herald.dc1.catalog.service.*.*.*"},
			deny:  []string{"herald.dc1.catalog.check.db%2E1.>", "herald.dc1.catalog.node.db%2E1", "herald.dc1.catalog.service.*.db%2E1.>"},
		},
		{
			name:  "queries and autopilot",
			rules: []rule{prefixRule(acl.ResourceQuery, "", acl.Read), {r: acl.ResourceOperator, access: acl.Read}},
			allow: []string{"herald.dc1.catalog.operator.autopilot", "herald.dc1.catalog.query.*"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allow, deny := subscribeFilters(authorizer(tc.rules...))
			if !slices.Equal(allow, tc.allow) || !slices.Equal(deny, tc.deny) {
				t.Errorf("allow %q deny %q, want allow %q deny %q", allow, deny, tc.allow, tc.deny)
			}
		})
	}
}

// opaqueAuthorizer cannot list its rules.
type opaqueAuthorizer struct{ acl.Authorizer }

func TestAuthorizerWithoutRulesGetsWholeResourceGrants(t *testing.T) {
	authz := opaqueAuthorizer{authorizer(prefixRule(acl.ResourceKey, "", acl.Read), prefixRule(acl.ResourceSession, "", acl.Read),
		prefixRule(acl.ResourceService, "web", acl.Read), rule{r: acl.ResourceACL, access: acl.Read})}
	allow, deny := subscribeFilters(authz)
	want := []string{"herald.dc1.kv.>", "herald.dc1.system.>"}
	if !slices.Equal(allow, want) || deny != nil {
		t.Errorf("allow %q deny %q, want allow %q", allow, deny, want)
	}
}
