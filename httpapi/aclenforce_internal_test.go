package httpapi

import (
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
		if authorize(r, acl.ResourceKey, "a", acl.Write) != nil || s.authorizeCommand(r, cmd) != nil || cacheScope(r) != "" {
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
