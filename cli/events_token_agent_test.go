package cli

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
)

// rootResolver knows one management token, "root".
type rootResolver struct{}

func (rootResolver) Resolve(secret string) (acl.Identity, error) {
	if secret != "root" {
		return acl.Identity{}, acl.ErrNotFound
	}
	return acl.Identity{AccessorID: "root-accessor", Authorizer: acl.ManageAll()}, nil
}

func TestEventsPresentsTheTokenToNATS(t *testing.T) {
	a := agenttest.StartPrepared(t, func(a *agent.Agent) { a.SetACLResolver(rootResolver{}) }, "-dev",
		"-hcl=acl { enabled = true }")
	c := agenttest.Client(t, a.HTTPAddr())
	putKey(t, c, "app/a", "1")

	r, cancel := startEvents(map[string]string{"HERALD_NATS_URL": a.NATSURL()}, "-from-index=1")
	code := r.wait(t)
	cancel()
	if code != 1 || !strings.Contains(r.stderr.String(), "Authorization Violation") || !strings.Contains(r.stderr.String(), "-token") {
		t.Errorf("without a token: exit %d, stderr %q; want 1 and an authorization violation naming -token", code, r.stderr)
	}

	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"-token":            {args: []string{"-token=root"}},
		"CONSUL_HTTP_TOKEN": {env: map[string]string{"CONSUL_HTTP_TOKEN": "root"}},
		"HERALD_HTTP_TOKEN": {env: map[string]string{"HERALD_HTTP_TOKEN": "root", "CONSUL_HTTP_TOKEN": "wrong"}},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"HERALD_NATS_URL": a.NATSURL()}
			for k, v := range tc.env {
				env[k] = v
			}
			r, cancel := startEvents(env, append(tc.args, "-from-index=1")...)
			defer cancel()
			evs := pollEvents(t, r, 1)
			if evs[0].Key != "app/a" {
				t.Errorf("first event %+v", evs[0])
			}
		})
	}
}
