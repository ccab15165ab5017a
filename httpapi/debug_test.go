package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
)

// TestDebugPprof checks that Go's profiles are served only with
// enable_debug (ACLs off), and that a mutex or block profile taken over a
// window comes back as a profile.
func TestDebugPprof(t *testing.T) {
	off := agenttest.Start(t, "-dev")
	if resp, _ := rawGet(t, off, "/debug/pprof/heap?debug=1", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("without enable_debug: HTTP %d, want 404", resp.StatusCode)
	}

	on := agenttest.Start(t, "-dev", "-hcl", `enable_debug = true`)
	resp, body := rawGet(t, on, "/debug/pprof/heap?debug=1", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("heap: HTTP %d, %.80q", resp.StatusCode, body)
	}
	for _, p := range []string{"mutex", "block"} {
		resp, body := rawGet(t, on, "/debug/pprof/"+p+"?seconds=1", nil)
		// A delta profile is gzipped protobuf, which starts with gzip's magic.
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\x1f\x8b") {
			t.Errorf("%s over 1s: HTTP %d, %.80q", p, resp.StatusCode, body)
		}
	}
	if resp, _ := rawGet(t, on, "/debug/pprof/cmdline", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("cmdline: HTTP %d", resp.StatusCode)
	}
}

// TestDebugPprofACL checks that with ACLs on the profiles are served,
// enable_debug or not, to operator:read tokens only, as Consul does.
func TestDebugPprofACL(t *testing.T) {
	a, _ := startACLAgent(t)
	resp, body := rawGet(t, a, "/debug/pprof/heap?debug=1", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "operator:read") {
		t.Errorf("anonymous: HTTP %d %q, want 403 lacking operator:read", resp.StatusCode, body)
	}
	resp, body = rawGet(t, a, "/debug/pprof/heap?debug=1", http.Header{"X-Consul-Token": {operatorSecret}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("operator token: HTTP %d, %.80q", resp.StatusCode, body)
	}
}
