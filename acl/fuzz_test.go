package acl

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every refusal is a
// *SyntaxError naming a line and column, and that what it accepts means
// what it says: each rule decides its own name, and the rules written back
// as JSON parse to the same rules.
func FuzzParse(f *testing.F) {
	for _, src := range consulExamples {
		f.Add(src)
	}
	for _, src := range []string{
		"", "{}", "key \"\" { policy = \"list\" }", `{"key": [{"a": [{"policy": "read"}]}]}`,
		`service "web" { policy = "deny" intentions = "write" }`, `key { "a" { policy = "read" } }`,
		"key \"a\" { policy = <<EOT\nread\nEOT\n}", "key \"a\\u00e9\" { policy = \"read\" }", `key "${x}" { policy = "read" }`,
	} {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		r, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %T %v, want a *SyntaxError", src, err, err)
			}
			where := fmt.Sprintf("line %d, column %d", se.Line, se.Column)
			if se.Line < 1 || se.Column < 1 || !strings.Contains(se.Error(), where) {
				t.Fatalf("Parse(%q) = %q at line %d, column %d", src, se, se.Line, se.Column)
			}
			return
		}
		checkRulesDecideTheirNames(t, r)
		again, err := Parse(rulesJSON(t, r))
		if err != nil {
			t.Fatalf("the rules of %q written back as JSON do not parse: %v", src, err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("the rules of %q written back as JSON parse to %+v, not %+v", src, again, r)
		}
	})
}

// checkRulesDecideTheirNames checks that, compiled alone, each of r's rules
// decides the name it is on: an exact rule always, a prefix rule when no
// exact rule is on the same name.
func checkRulesDecideTheirNames(t *testing.T, r *Rules) {
	t.Helper()
	for _, fallback := range []Authorizer{AllowAll(), DenyAll()} {
		authz := Compile(fallback, r)
		for _, need := range []Access{Read, List, Write} {
			for res, names := range r.Prefix {
				for name, a := range names {
					if _, ok := r.Exact[res][name]; ok {
						continue
					}
					if got := authz.Allowed(res, name, need); got != grants(a, need) {
						t.Fatalf("prefix %s %q %s: Allowed(%s) = %v", res, name, a, need, got)
					}
				}
			}
			for res, names := range r.Exact {
				for name, a := range names {
					if got := authz.Allowed(res, name, need); got != grants(a, need) {
						t.Fatalf("exact %s %q %s: Allowed(%s) = %v", res, name, a, need, got)
					}
				}
			}
			for res, a := range r.Single {
				if got := authz.Allowed(res, "", need); got != grants(a, need) {
					t.Fatalf("%s = %s: Allowed(%s) = %v", res, a, need, got)
				}
			}
		}
	}
}

// rulesJSON writes r in the JSON form of the rules language.
func rulesJSON(t *testing.T, r *Rules) string {
	t.Helper()
	type body struct {
		Policy     string `json:"policy"`
		Intentions string `json:"intentions,omitempty"`
	}
	out := map[string]any{}
	write := func(rules map[Resource]map[string]Access, suffix string) {
		for res, names := range rules {
			if res == ResourceIntention {
				continue
			}
			bodies := map[string]body{}
			for name, a := range names {
				b := body{Policy: a.String()}
				if i, ok := rules[ResourceIntention][name]; ok && res == ResourceService {
					b.Intentions = i.String()
				}
				bodies[name] = b
			}
			out[string(res)+suffix] = bodies
		}
	}
	write(r.Exact, "")
	write(r.Prefix, "_prefix")
	for res, a := range r.Single {
		out[string(res)] = a.String()
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzAuthorizer compares the compiled authorizer with a plain reading of
// Consul's precedence over every rule, for names and prefixes near the
// rules' own names.
func FuzzAuthorizer(f *testing.F) {
	f.Add(consulDocsExampleHCL, "foo/bar")
	f.Add(`key_prefix "" { policy = "deny" } key_prefix "bar" { policy = "list" } key "bar/x" { policy = "read" }`, "bar/")
	f.Add(`key_prefix "a/" { policy = "write" } key_prefix "a/b" { policy = "read" } key "a/c" { policy = "write" }`, "a/")
	f.Add(`service_prefix "" { policy = "read" } service "web" { policy = "write" } service "web-sidecar-proxy" { policy = "deny" }`, "web")
	f.Fuzz(func(t *testing.T, src, name string) {
		r, err := Parse(src)
		if err != nil {
			return
		}
		merged := &Rules{}
		for res, names := range r.Exact {
			for n, a := range names {
				merged.add(res, n, false, a)
			}
		}
		for res, names := range r.Prefix {
			for n, a := range names {
				merged.add(res, n, true, a)
			}
		}
		deriveIntentions(merged)

		names := []string{name, "", name + "x"}
		if name != "" {
			names = append(names, name[:len(name)-1])
		}
		for _, m := range []map[Resource]map[string]Access{merged.Exact, merged.Prefix} {
			for _, byName := range m {
				for n := range byName {
					names = append(names, n, n+"/", n+name)
					if n != "" {
						names = append(names, n[:len(n)-1])
					}
				}
			}
		}
		for _, fallback := range []bool{true, false} {
			fb := DenyAll()
			if fallback {
				fb = AllowAll()
			}
			authz := Compile(fb, r)
			for _, res := range segmentedResources {
				for _, n := range names {
					for _, need := range []Access{Read, List, Write} {
						want := fallback
						if a := plainDecide(merged, res, n); a != Default {
							want = grants(a, need)
						}
						if got := authz.Allowed(res, n, need); got != want {
							t.Fatalf("%q: Allowed(%s, %q, %s) = %v, want %v", src, res, n, need, got, want)
						}
						if got, want := authz.AllowedPrefix(res, n, need), plainAllowedPrefix(merged, res, n, need, fallback); got != want {
							t.Fatalf("%q: AllowedPrefix(%s, %q, %s) = %v, want %v", src, res, n, need, got, want)
						}
					}
				}
			}
		}
	})
}

// plainDecide is the access of the rule deciding name, found by looking at
// every rule.
func plainDecide(r *Rules, res Resource, name string) Access {
	if a, ok := r.Exact[res][name]; ok {
		return a
	}
	longest, decided := -1, Default
	for p, a := range r.Prefix[res] {
		if strings.HasPrefix(name, p) && len(p) > longest {
			longest, decided = len(p), a
		}
	}
	return decided
}

// plainAllowedPrefix is AllowedPrefix by looking at every rule.
func plainAllowedPrefix(r *Rules, res Resource, prefix string, need Access, fallback bool) bool {
	for _, m := range []map[Resource]map[string]Access{r.Exact, r.Prefix} {
		for n, a := range m[res] {
			if strings.HasPrefix(n, prefix) && !grants(a, need) {
				return false
			}
		}
	}
	longest, base := -1, Default
	for p, a := range r.Prefix[res] {
		if strings.HasPrefix(prefix, p) && len(p) > longest {
			longest, base = len(p), a
		}
	}
	if base != Default {
		return grants(base, need)
	}
	return fallback
}
