package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// With ACLs disabled (the default), enforcement costs a request nothing
// but context lookups: no allocation, no copy of a list.
func TestACLDisabledAllocatesNothing(t *testing.T) {
	s := &Server{}
	r := httptest.NewRequest("GET", "/v1/kv/?recurse", nil)
	w := httptest.NewRecorder()
	list := []*event.KVEntry{{Key: "a"}, {Key: "b"}}
	cmd := command.Command{Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "a"}}}
	allocs := testing.AllocsPerRun(100, func() {
		if got := aclFilter(w, r, list, canReadKey); len(got) != 2 {
			t.Fatal("a list was filtered with ACLs disabled")
		}
		if authorize(r, acl.ResourceKey, "a", acl.Write) != nil || s.authorizeCommand(r, cmd) != nil || !cacheable(r) {
			t.Fatal("a request was refused with ACLs disabled")
		}
		if err := s.checkRoute("/v1/snapshot", r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request with ACLs disabled", allocs)
	}
}

// cacheable: with ACLs off every answer may be cached, for everyone.
func cacheable(r *http.Request) bool {
	view, ok := cacheView(r)
	return ok && view == nil
}

// With ACLs on, a cached answer is keyed on the token's authorizer: the
// same authorizer shares it, a new one (the token's rights changed, or
// another token with other rights) does not, and one that cannot be
// compared is never cached.
func TestAnswerKeyFollowsAuthorizer(t *testing.T) {
	keyFor := func(a acl.Authorizer) (answerKey, bool) {
		r := httptest.NewRequest("GET", "/v1/health/service/web?index=7&passing", nil)
		ctx := context.WithValue(r.Context(), requestACLKey{}, &requestACL{})
		return keyOf(r.WithContext(acl.WithIdentity(ctx, acl.Identity{AccessorID: "same-accessor", Authorizer: a})))
	}
	rules := &acl.Rules{}
	before, after := acl.Compile(nil, rules), acl.Compile(nil, rules)
	k1, ok1 := keyFor(before)
	k2, ok2 := keyFor(before)
	k3, ok3 := keyFor(after)
	if !ok1 || !ok2 || !ok3 {
		t.Fatal("compiled authorizers must be cacheable")
	}
	if k1 != k2 {
		t.Error("one authorizer, two keys: its requests would not share the answer")
	}
	if k1 == k3 {
		t.Error("two authorizers of one accessor share a key: an answer filtered under old rights would be served under new ones")
	}
	if _, ok := keyFor(uncomparableAuthorizer{}); ok {
		t.Error("an authorizer that cannot be compared was cached")
	}
}

type uncomparableAuthorizer map[string]bool

func (uncomparableAuthorizer) Allowed(acl.Resource, string, acl.Access) bool       { return true }
func (uncomparableAuthorizer) AllowedPrefix(acl.Resource, string, acl.Access) bool { return true }
