package acl

import (
	"fmt"
	"reflect"
	"testing"
)

func mustParse(t testing.TB, src string) *Rules {
	t.Helper()
	r, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return r
}

// check is one question to an authorizer and the answer it must give.
type check struct {
	res  Resource
	name string
	need Access
	want bool
}

func TestCompilePrecedence(t *testing.T) {
	cases := []struct {
		name     string
		fallback Authorizer
		policies []string
		checks   []check
	}{
		{
			name:     "an exact rule beats every prefix rule",
			fallback: DenyAll(),
			policies: []string{`
key_prefix "" { policy = "write" }
key_prefix "foo/" { policy = "write" }
key "foo/bar" { policy = "read" }
key "foo/baz" { policy = "deny" }
key_prefix "foo/bar" { policy = "write" }`},
			checks: []check{
				{ResourceKey, "foo/bar", Read, true},
				{ResourceKey, "foo/bar", Write, false},
				{ResourceKey, "foo/baz", Read, false},
				{ResourceKey, "foo/bar/x", Write, true}, // the prefix rule "foo/bar" is not the exact rule
				{ResourceKey, "foo/qux", Write, true},
			},
		},
		{
			name:     "the longest matching prefix wins, whichever its access",
			fallback: AllowAll(),
			policies: []string{consulDocsExampleHCL},
			checks: []check{
				{ResourceKey, "anything", Read, true},
				{ResourceKey, "anything", Write, false},
				{ResourceKey, "foo/x", Write, true},
				{ResourceKey, "foo/private/x", Read, false},
				{ResourceKey, "foo/private/", Read, false},
				{ResourceKey, "foo/private", Write, true}, // "foo/private/" is longer than the name
				{ResourceKey, "foo/bar/secret", Read, false},
				{ResourceKey, "foo/bar/secret2", Write, true},
				{ResourceOperator, "", Read, true},
				{ResourceOperator, "", Write, false},
			},
		},
		{
			name:     "deny wins at equal specificity across policies",
			fallback: AllowAll(),
			policies: []string{
				`service "web" { policy = "write" } node_prefix "n" { policy = "write" } acl = "write"`,
				`service "web" { policy = "deny" } node_prefix "n" { policy = "deny" } acl = "deny"`,
			},
			checks: []check{
				{ResourceService, "web", Read, false},
				{ResourceNode, "n1", Read, false},
				{ResourceACL, "", Read, false},
			},
		},
		{
			name:     "otherwise the greater access wins across policies",
			fallback: DenyAll(),
			policies: []string{
				`service "web" { policy = "read" } key_prefix "k/" { policy = "list" } operator = "read"`,
				`service "web" { policy = "write" } key_prefix "k/" { policy = "read" } operator = "write"`,
			},
			checks: []check{
				{ResourceService, "web", Write, true},
				{ResourceKey, "k/a", List, true},
				{ResourceKey, "k/a", Write, false},
				{ResourceOperator, "", Write, true},
			},
		},
		{
			name:     "a more specific rule of one policy beats a deny of another",
			fallback: DenyAll(),
			policies: []string{`service_prefix "" { policy = "deny" }`, `service "web" { policy = "read" }`},
			checks: []check{
				{ResourceService, "web", Read, true},
				{ResourceService, "db", Read, false},
			},
		},
		{
			name:     "the fallback decides only where no rule does",
			fallback: AllowAll(),
			policies: []string{`node "n1" { policy = "deny" } key_prefix "a/" { policy = "read" }`},
			checks: []check{
				{ResourceNode, "n1", Read, false},
				{ResourceNode, "n2", Write, true},
				{ResourceKey, "a/x", Write, false},
				{ResourceKey, "b", Write, true},
				{ResourceService, "web", Write, true},
				{ResourceMesh, "", Write, true},
			},
		},
		{
			name:     "a deny fallback",
			fallback: DenyAll(),
			policies: []string{`node "n1" { policy = "write" }`},
			checks: []check{
				{ResourceNode, "n1", Write, true},
				{ResourceNode, "n2", Read, false},
				{ResourceKeyring, "", Read, false},
			},
		},
		{
			name:     "list is granted by list and write, not read; list and write grant read",
			fallback: AllowAll(),
			policies: []string{`
key_prefix "l/" { policy = "list" }
key_prefix "r/" { policy = "read" }
key_prefix "w/" { policy = "write" }
key_prefix "d/" { policy = "deny" }
service "s" { policy = "read" }`},
			checks: []check{
				{ResourceKey, "l/x", List, true},
				{ResourceKey, "l/x", Read, true},
				{ResourceKey, "l/x", Write, false},
				{ResourceKey, "r/x", List, false},
				{ResourceKey, "r/x", Read, true},
				{ResourceKey, "w/x", List, true},
				{ResourceKey, "w/x", Read, true},
				{ResourceKey, "d/x", List, false},
				{ResourceKey, "d/x", Read, false},
				{ResourceService, "s", List, false},
			},
		},
		{
			name:     "intentions follow the service access unless given",
			fallback: AllowAll(),
			policies: []string{`
service "w" { policy = "write" }
service "r" { policy = "read" }
service "d" { policy = "deny" }
service "i" { policy = "read" intentions = "write" }
service_prefix "p-" { policy = "write" }
service_prefix "q-" { policy = "deny" intentions = "read" }`},
			checks: []check{
				{ResourceIntention, "w", Read, true},
				{ResourceIntention, "w", Write, false},
				{ResourceIntention, "r", Read, true},
				{ResourceIntention, "d", Read, false},
				{ResourceIntention, "i", Write, true},
				{ResourceIntention, "p-x", Read, true},
				{ResourceIntention, "p-x", Write, false},
				{ResourceIntention, "q-x", Read, true},
				{ResourceService, "q-x", Read, false},
				{ResourceIntention, "other", Write, true},
			},
		},
		{
			name:     "a service's derived intentions merge after the service access",
			fallback: AllowAll(),
			policies: []string{
				`service "web" { policy = "deny" }`,
				`service "web" { policy = "read" intentions = "write" }`,
			},
			checks: []check{
				{ResourceService, "web", Read, false},
				{ResourceIntention, "web", Write, true},
			},
		},
		{
			name:     "rules of one resource say nothing of another",
			fallback: DenyAll(),
			policies: []string{`key_prefix "" { policy = "write" } agent_prefix "" { policy = "write" }`},
			checks: []check{
				{ResourceKey, "x", Write, true},
				{ResourceAgent, "node-1", Write, true},
				{ResourceSession, "node-1", Read, false},
				{ResourceEvent, "e", Read, false},
				{ResourceQuery, "q", Read, false},
				{Resource("bogus"), "x", Read, false},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rules []*Rules
			for _, src := range tc.policies {
				rules = append(rules, mustParse(t, src))
			}
			authz := Compile(tc.fallback, rules...)
			for _, c := range tc.checks {
				if got := authz.Allowed(c.res, c.name, c.need); got != c.want {
					t.Errorf("Allowed(%s, %q, %s) = %v, want %v", c.res, c.name, c.need, got, c.want)
				}
			}
		})
	}
}

func TestCompileWithoutRules(t *testing.T) {
	for _, fallback := range []Authorizer{AllowAll(), DenyAll()} {
		authz := Compile(fallback, nil, &Rules{}, mustParse(t, ""))
		want := fallback.Allowed(ResourceKey, "x", Write)
		if got := authz.Allowed(ResourceKey, "x", Write); got != want {
			t.Errorf("no rules: Allowed = %v, want the fallback's %v", got, want)
		}
	}
	if Compile(nil, mustParse(t, `key "a" { policy = "read" }`)).Allowed(ResourceKey, "b", Read) {
		t.Error("a nil fallback allowed what no rule grants")
	}
}

func TestCompileMergedRules(t *testing.T) {
	authz := Compile(AllowAll(),
		mustParse(t, `key_prefix "a/" { policy = "read" } service "web" { policy = "write" } operator = "read"`),
		mustParse(t, `key_prefix "a/" { policy = "write" } key "a/b" { policy = "deny" }`),
		ServiceIdentityRules("db"))
	src, ok := authz.(interface{ MergedRules() (*Rules, Authorizer) })
	if !ok {
		t.Fatalf("Compile's authorizer %T does not give its rules", authz)
	}
	rules, fallback := src.MergedRules()
	want := rulesOf(t,
		"prefix key a/ write", "exact key a/b deny", "single operator read",
		"exact service web write", "exact intention web read",
		"exact service db write", "exact intention db read",
		"exact service db-sidecar-proxy write", "exact intention db-sidecar-proxy read",
		"prefix service read", "prefix intention read", "prefix node read")
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("MergedRules = %+v, want %+v", rules, want)
	}
	if !fallback.Allowed(ResourceKey, "x", Write) {
		t.Error("MergedRules' fallback is not the allow-all given to Compile")
	}
	if _, ok := Compile(DenyAll()).(interface{ MergedRules() (*Rules, Authorizer) }); !ok {
		t.Error("Compile without rules does not give its rules")
	}
}

func TestCompileAllowedPrefix(t *testing.T) {
	cases := []struct {
		name     string
		fallback Authorizer
		policy   string
		checks   []check
	}{
		{
			name:     "write on the prefix and on everything under it",
			fallback: DenyAll(),
			policy: `
key_prefix "app/" { policy = "write" }
key_prefix "app/secret/" { policy = "read" }
key "app/config" { policy = "write" }
key "app/locked" { policy = "deny" }
key_prefix "other/" { policy = "write" }
key "other/x/y" { policy = "write" }`,
			checks: []check{
				{ResourceKey, "app/", Write, false},         // app/secret/ and app/locked are read-only or denied
				{ResourceKey, "app/secret/", Write, false},  // its own prefix rule grants only read
				{ResourceKey, "app/secret/", Read, true},    // every rule under it grants read
				{ResourceKey, "app/conf", Write, true},      // only app/config is under it
				{ResourceKey, "app/locke", Write, false},    // app/locked is under it
				{ResourceKey, "app/locked", Write, false},   // the exact rule on the prefix itself counts
				{ResourceKey, "other/", Write, true},        // every rule under it grants write
				{ResourceKey, "other/x", Write, true},       // mid-way along a rule's name
				{ResourceKey, "nothing/", Write, false},     // no rule: the fallback
				{ResourceKey, "app/secret/a", Read, true},   // under a read prefix rule
				{ResourceKey, "app/secret/a", Write, false}, // ... which does not grant write
			},
		},
		{
			name:     "an allow fallback decides where no prefix rule covers the prefix",
			fallback: AllowAll(),
			policy: `
key "a/b" { policy = "write" }
key "c/d" { policy = "read" }
key_prefix "e/" { policy = "read" }`,
			checks: []check{
				{ResourceKey, "a/", Write, true},
				{ResourceKey, "c/", Write, false},
				{ResourceKey, "", Write, false},
				{ResourceKey, "e/", Write, false},
				{ResourceKey, "e/x", Read, true},
				{ResourceKey, "f/", Write, true},
			},
		},
		{
			name:     "one-value resources answer as Allowed",
			fallback: DenyAll(),
			policy:   `operator = "write"`,
			checks: []check{
				{ResourceOperator, "", Write, true},
				{ResourceACL, "", Read, false},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			authz := Compile(tc.fallback, mustParse(t, tc.policy))
			for _, c := range tc.checks {
				if got := authz.AllowedPrefix(c.res, c.name, c.need); got != c.want {
					t.Errorf("AllowedPrefix(%s, %q, %s) = %v, want %v", c.res, c.name, c.need, got, c.want)
				}
			}
		})
	}
}

func TestIdentityRules(t *testing.T) {
	svc := Compile(DenyAll(), ServiceIdentityRules("web"))
	for _, c := range []check{
		{ResourceService, "web", Write, true},
		{ResourceService, "web-sidecar-proxy", Write, true},
		{ResourceService, "web2", Write, false},
		{ResourceService, "db", Read, true},
		{ResourceNode, "any", Read, true},
		{ResourceNode, "any", Write, false},
		{ResourceIntention, "web", Read, true},
		{ResourceIntention, "web", Write, false},
		{ResourceKey, "web", Read, false},
	} {
		if got := svc.Allowed(c.res, c.name, c.need); got != c.want {
			t.Errorf("service identity web: Allowed(%s, %q, %s) = %v, want %v", c.res, c.name, c.need, got, c.want)
		}
	}
	node := Compile(DenyAll(), NodeIdentityRules("node-1"))
	for _, c := range []check{
		{ResourceNode, "node-1", Write, true},
		{ResourceNode, "node-2", Read, false},
		{ResourceService, "web", Read, true},
		{ResourceService, "web", Write, false},
		{ResourceAgent, "node-1", Read, false},
	} {
		if got := node.Allowed(c.res, c.name, c.need); got != c.want {
			t.Errorf("node identity node-1: Allowed(%s, %q, %s) = %v, want %v", c.res, c.name, c.need, got, c.want)
		}
	}

	// The rules are those of Consul's templates, as written there.
	for _, tc := range []struct {
		got      *Rules
		template string
	}{
		{ServiceIdentityRules("web"), `
service "web" {
	policy = "write"
}
service "web-sidecar-proxy" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}
node_prefix "" {
	policy = "read"
}`},
		{NodeIdentityRules("node-1"), `
node "node-1" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}`},
	} {
		want := mustParse(t, tc.template)
		if !reflect.DeepEqual(tc.got, want) {
			t.Errorf("identity rules %+v, want those of %s: %+v", tc.got, tc.template, want)
		}
	}
}

// benchmarkAuthorizer is a token of a few typical policies: a service's
// identity, a KV application's keys, and an operator's read access.
func benchmarkAuthorizer(t testing.TB) Authorizer {
	kv := mustParse(t, `
key_prefix "" { policy = "deny" }
key_prefix "app/" { policy = "read" }
key_prefix "app/web/" { policy = "write" }
key_prefix "app/web/secrets/" { policy = "deny" }
key "app/web/secrets/public" { policy = "read" }
key_prefix "shared/" { policy = "list" }
node_prefix "" { policy = "read" }
session_prefix "" { policy = "write" }
operator = "read"`)
	many := &Rules{}
	for i := range 200 {
		many.add(ResourceService, fmt.Sprintf("team-%03d-", i), true, Read)
		many.add(ResourceKey, fmt.Sprintf("teams/%03d/", i), true, Write)
	}
	return Compile(DenyAll(), ServiceIdentityRules("web"), kv, many)
}

var benchmarkChecks = []check{
	{ResourceKey, "app/web/config/feature-flags", Write, true},
	{ResourceKey, "app/web/secrets/db-password", Read, false},
	{ResourceKey, "app/web/secrets/public", Read, true},
	{ResourceKey, "teams/123/x", Write, true},
	{ResourceKey, "other", Read, false},
	{ResourceService, "web-sidecar-proxy", Write, true},
	{ResourceService, "team-150-api", Read, true},
	{ResourceService, "billing", Write, false},
	{ResourceOperator, "", Read, true},
}

func TestAllowedAllocatesNothing(t *testing.T) {
	authz := benchmarkAuthorizer(t)
	for _, c := range benchmarkChecks {
		if got := authz.Allowed(c.res, c.name, c.need); got != c.want {
			t.Errorf("Allowed(%s, %q, %s) = %v, want %v", c.res, c.name, c.need, got, c.want)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, c := range benchmarkChecks {
			authz.Allowed(c.res, c.name, c.need)
			authz.AllowedPrefix(c.res, c.name, c.need)
		}
	})
	if allocs != 0 {
		t.Errorf("Allowed and AllowedPrefix allocate %v times per round", allocs)
	}
}

func BenchmarkAllowed(b *testing.B) {
	authz := benchmarkAuthorizer(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := benchmarkChecks[i%len(benchmarkChecks)]
		authz.Allowed(c.res, c.name, c.need)
	}
}

func BenchmarkAllowedPrefix(b *testing.B) {
	authz := benchmarkAuthorizer(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := benchmarkChecks[i%len(benchmarkChecks)]
		authz.AllowedPrefix(c.res, c.name, c.need)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(consulDocsExampleHCL); err != nil {
			b.Fatal(err)
		}
	}
}
