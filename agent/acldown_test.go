package agent

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// A secondary's resolver: a token its state lacks is asked of the
// primary and kept for the TTL; when the primary cannot be reached each
// down policy answers as Consul documents it.
func TestRemoteResolverDownPolicies(t *testing.T) {
	local := projections.NewACL(projections.ACLConfig{DefaultPolicy: "deny", Datacenter: "dc2"})
	local.Apply(1, []event.Event{{Type: event.ACLPolicyUpdated, ACLPolicy: &event.ACLPolicy{ID: "p1", Name: "kv",
		Rules: `key_prefix "app/" { policy = "write" }`}}})
	remote := &event.ACLToken{AccessorID: "acc-1", Policies: []event.ACLLink{{ID: "p1"}}}
	const known, unknown = "known-secret", "unknown-secret"

	for _, tc := range []struct {
		policy string
		// after, for the token answered once then not, and for one never
		// answered: "kv" (the token's rules), "all", "none", or "not found".
		kept, never string
	}{
		{"extend-cache", "kv", "none"},
		{"async-cache", "kv", "none"},
		{"allow", "all", "all"},
		{"deny", "none", "none"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			now := time.Unix(1000, 0)
			var down atomic.Bool
			var asked atomic.Int32
			r := &remoteResolver{local: local, downPolicy: tc.policy, ttl: time.Minute, now: func() time.Time { return now },
				log: slog.New(slog.DiscardHandler), cache: map[string]*remoteToken{},
				fetch: func(secret string) (*event.ACLToken, error) {
					asked.Add(1)
					switch {
					case down.Load():
						return nil, errPrimaryDown
					case secret == known:
						return remote, nil
					}
					return nil, acl.ErrNotFound
				}}
			if got := grants(r, known); got != "kv" {
				t.Fatalf("a token the primary knows: %s", got)
			}
			if got := grants(r, unknown); got != "not found" {
				t.Fatalf("a token the primary does not know: %s", got)
			}
			grants(r, known)
			if n := asked.Load(); n != 2 {
				t.Fatalf("asked the primary %d times, want 2 (the answers are kept for the TTL)", n)
			}
			down.Store(true)
			now = now.Add(2 * time.Minute)
			if got := grants(r, known); got != tc.kept {
				t.Errorf("the kept token after its TTL, primary down: %s, want %s", got, tc.kept)
			}
			if got := grants(r, "never-seen"); got != tc.never {
				t.Errorf("a token never seen, primary down: %s, want %s", got, tc.never)
			}
		})
	}
}

func grants(r *remoteResolver, secret string) string {
	id, err := r.Resolve(secret)
	switch {
	case errors.Is(err, acl.ErrNotFound):
		return "not found"
	case err != nil:
		return err.Error()
	case id.Authorizer.Allowed(acl.ResourceKey, "other", acl.Write):
		return "all"
	case id.Authorizer.Allowed(acl.ResourceKey, "app/x", acl.Write):
		return "kv"
	}
	return "none"
}
