package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// get asks h for path and returns the status, the Cache-Control header and
// the body.
func get(t *testing.T, h http.Handler, path string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Header().Get("Cache-Control"), string(body)
}

func writeBuild(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.html":           `<base href="__HERALD_CONTENT_PATH__"><meta name="herald-datacenter" content="__HERALD_DATACENTER__"><script src="assets/app-1a2b3c.js"></script>`,
		"assets/app-1a2b3c.js": "console.log(1)",
		"favicon.svg":          "<svg/>",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHandlerServesTheBuildWithTheContentPathInIndex(t *testing.T) {
	h := Handler("/console/", writeBuild(t), "east-1")
	for _, path := range []string{"/console/", "/console/index.html", "/console/dc1/services/web", "/console/dc1/kv/app/config.json"} {
		code, cache, body := get(t, h, path)
		if code != http.StatusOK || cache != "no-cache" || !strings.Contains(body, `<base href="/console/">`) ||
			!strings.Contains(body, `content="east-1"`) {
			t.Errorf("GET %s = %d, Cache-Control %q, %q; want index.html with the content path and the datacenter, no-cache", path, code, cache, body)
		}
	}
	code, cache, body := get(t, h, "/console/assets/app-1a2b3c.js")
	if code != http.StatusOK || body != "console.log(1)" || !strings.Contains(cache, "immutable") {
		t.Errorf("hashed asset: %d, Cache-Control %q, %q", code, cache, body)
	}
	if code, cache, body := get(t, h, "/console/favicon.svg"); code != http.StatusOK || body != "<svg/>" || cache != "no-cache" {
		t.Errorf("unhashed file: %d, Cache-Control %q, %q", code, cache, body)
	}
	if code, _, _ := get(t, h, "/console/assets/gone-000000.js"); code != http.StatusNotFound {
		t.Errorf("a missing asset answers %d, want 404 (not the page)", code)
	}
	if code, _, _ := get(t, h, "/elsewhere"); code != http.StatusNotFound {
		t.Errorf("a path outside the content path answers %d, want 404", code)
	}
}

func TestHandlerReadsIndexFromDiskAtEachRequest(t *testing.T) {
	dir := writeBuild(t)
	h := Handler("/ui/", dir, "dc1")
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("new build"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, body := get(t, h, "/ui/"); body != "new build" {
		t.Errorf("index.html after a new build = %q", body)
	}
}

func TestHandlerServesTheEmbeddedBuild(t *testing.T) {
	want, err := Assets().Open("index.html")
	if err != nil {
		t.Fatalf("the embedded build has no index.html: %v", err)
	}
	want.Close()
	code, _, body := get(t, Handler("/ui/", "", "dc1"), "/ui/dc1/nodes")
	if code != http.StatusOK || !strings.Contains(body, "<html") || strings.Contains(body, ContentPathPlaceholder) ||
		strings.Contains(body, DatacenterPlaceholder) {
		t.Errorf("embedded page: %d %q", code, body)
	}
}
