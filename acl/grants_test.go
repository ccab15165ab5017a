package acl

import "testing"

type opaque struct{ Authorizer }

type nilRules struct{ Authorizer }

func (nilRules) MergedRules() (*Rules, Authorizer) { return nil, nil }

func TestRulesOf(t *testing.T) {
	for name, tc := range map[string]struct {
		a           Authorizer
		ok          bool
		fallbackAll bool
	}{
		"allow all":           {a: AllowAll(), ok: true, fallbackAll: true},
		"deny all":            {a: DenyAll(), ok: true},
		"manage all":          {a: ManageAll(), ok: true, fallbackAll: true},
		"cannot list":         {a: opaque{AllowAll()}},
		"lists nothing, safe": {a: nilRules{AllowAll()}, ok: true},
	} {
		t.Run(name, func(t *testing.T) {
			rules, fallback, ok := RulesOf(tc.a)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if rules == nil || len(rules.Exact)+len(rules.Prefix)+len(rules.Single) != 0 {
				t.Errorf("rules = %+v, want none", rules)
			}
			if got := fallback.Allowed(ResourceKey, "x", Read); got != tc.fallbackAll {
				t.Errorf("fallback allows key read: %v, want %v", got, tc.fallbackAll)
			}
		})
	}
}
