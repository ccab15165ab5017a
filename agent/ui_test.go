package agent_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
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
