package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func getPage(t *testing.T, addr, path string) (int, string, string) {
	t.Helper()
	resp, err := noRedirects.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func TestUIIsServedWhenOnAndRootRedirectsToIt(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-ui")
	if code, location, _ := getPage(t, a.HTTPAddr(), "/"); code != http.StatusMovedPermanently || location != "/ui/" {
		t.Errorf("GET / = %d to %q, want 301 to /ui/", code, location)
	}
	for _, path := range []string{"/ui/", "/ui/dc1/services/web"} {
		if code, _, body := getPage(t, a.HTTPAddr(), path); code != http.StatusOK || !strings.Contains(body, "<html") {
			t.Errorf("GET %s = %d %q, want the page", path, code, body)
		}
	}
	if code, _, _ := getPage(t, a.HTTPAddr(), "/nothing-here"); code != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d, want 404", code)
	}
	if code, _, _ := getPage(t, a.HTTPAddr(), "/v1/status/leader"); code != http.StatusOK {
		t.Errorf("the API beside the UI: %d", code)
	}
}

func TestUIIsOffByDefault(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir())
	for _, path := range []string{"/", "/ui/", "/ui/dc1/services"} {
		if code, _, _ := getPage(t, a.HTTPAddr(), path); code != http.StatusNotFound {
			t.Errorf("GET %s with the UI off = %d, want 404", path, code)
		}
	}
}

func TestUIContentPath(t *testing.T) {
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(),
		`-hcl=ui_config { enabled = true content_path = "/console" }`)
	if code, location, _ := getPage(t, a.HTTPAddr(), "/"); code != http.StatusMovedPermanently || location != "/console/" {
		t.Errorf("GET / = %d to %q, want 301 to /console/", code, location)
	}
	if code, _, _ := getPage(t, a.HTTPAddr(), "/console/dc1/kv/app/"); code != http.StatusOK {
		t.Errorf("GET /console/dc1/kv/app/ = %d", code)
	}
	if code, _, _ := getPage(t, a.HTTPAddr(), "/ui/"); code != http.StatusNotFound {
		t.Errorf("GET /ui/ with another content path = %d, want 404", code)
	}
}

func TestUIIsOnInDevMode(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	if code, _, body := getPage(t, a.HTTPAddr(), "/ui/dc1/kv/"); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Errorf("GET /ui/dc1/kv/ in -dev = %d %q, want the page", code, body)
	}
}

// A client agent asks a server for history with its caller's token, and
// the server judges the read by it, as it judges forwarded writes.
func TestClientAgentHistoryIsJudgedByTheServers(t *testing.T) {
	manage := acl.Identity{AccessorID: "accessor-management", SecretID: "secret-management", Authorizer: acl.ManageAll()}
	tokens := serverTokens{
		"secret-management": manage,
		"secret-app":        {AccessorID: "accessor-app", Authorizer: onlyKeysUnder("app/")},
		"":                  {AccessorID: acl.AnonymousTokenID, Authorizer: acl.DenyAll()},
	}
	agentToken := func() acl.Identity { return manage }
	srv := agenttest.StartWithACL(t, tokens, agentToken, "-server", "-bootstrap-expect=1", "-node=srv",
		"-data-dir="+t.TempDir(), fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)))
	cs, _ := api.NewClient(&api.Config{Address: srv.HTTPAddr(), Token: "secret-management"})
	self := membersOf(t, cs)["srv"]
	cli := agenttest.StartWithACL(t, trustingClient{}, agentToken, "-node=cli", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-retry-join=%s:%d", self.Addr, self.Port))
	for _, key := range []string{"app/x", "other/x"} {
		if _, err := cs.KV().Put(&api.KVPair{Key: key, Value: []byte("1")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	history := func(key string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+cli.HTTPAddr()+"/v1/internal/ui/history/kv/"+key, nil)
		req.Header.Set("X-Consul-Token", "secret-app")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	poll.Eventually(t, 30*time.Second, "the client agent answers a history it may read", func() (bool, string) {
		code := history("app/x")
		return code == http.StatusOK, fmt.Sprint(code)
	})
	if code := history("other/x"); code != http.StatusForbidden {
		t.Fatalf("a history the token may not read, through a trusting client agent: %d, want 403 from the server", code)
	}
}
