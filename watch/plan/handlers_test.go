package plan_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/watch/plan"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// A script handler gets the JSON on stdin and the index in CONSUL_INDEX,
// once per run.
func TestScriptHandlerArgs(t *testing.T) {
	c := startAgent(t)
	dir := t.TempDir()
	out, idx := filepath.Join(dir, "out"), filepath.Join(dir, "idx")
	put(t, c, "s/k", "v1")
	p := mustParse(t, map[string]any{
		"type": "key", "key": "s/k", "handler_type": "script",
		"args": []any{"/bin/sh", "-c", `cat >> "$1"; echo "$CONSUL_INDEX" >> "$2"`, "handler", out, idx},
	})
	r := start(t, c, p)
	r.fires(t, 1)
	put(t, c, "s/k", "v2")
	got := r.fires(t, 2)

	lines, indexes := readLines(t, out), readLines(t, idx)
	if len(lines) != 2 || len(indexes) != 2 {
		t.Fatalf("handler saw %q with indexes %q", lines, indexes)
	}
	for i, u := range got {
		if u.Index == 0 || lines[i] != string(u.JSON) || indexes[i] != strconv.FormatUint(u.Index, 10) {
			t.Errorf("run %d: stdin %q CONSUL_INDEX %q, want %s and %d", i, lines[i], indexes[i], u.JSON, u.Index)
		}
		if r.err(i) != nil {
			t.Errorf("run %d: %v", i, r.err(i))
		}
	}
	if kv := decode[*api.KVPair](t, got[1]); string(kv.Value) != "v2" {
		t.Errorf("second run: %s", got[1].JSON)
	}
}

// The older "handler" key is a command line run by the shell.
func TestScriptHandlerShellLine(t *testing.T) {
	c := startAgent(t)
	out := filepath.Join(t.TempDir(), "out")
	put(t, c, "line/k", "v1")
	r := start(t, c, mustParse(t, map[string]any{
		"type": "key", "key": "line/k", "handler": "cat > '" + out + "' && echo done",
	}))
	u := r.fires(t, 1)[0]
	if r.err(0) != nil {
		t.Fatal(r.err(0))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(u.JSON)+"\n" {
		t.Errorf("stdin was %q, want %q", data, string(u.JSON)+"\n")
	}
}

// A failing handler is logged and the plan carries on; with
// StopOnHandlerError, Run returns the failure.
func TestScriptHandlerFailure(t *testing.T) {
	c := startAgent(t)
	def := map[string]any{"type": "key", "key": "f/k", "args": []string{"/bin/sh", "-c", "exit 3"}}

	r := start(t, c, mustParse(t, def))
	r.fires(t, 1)
	put(t, c, "f/k", "v")
	r.fires(t, 2)
	for i, err := range r.errors() {
		if err == nil || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("run %d: error %v, want exit status 3", i, err)
		}
	}

	p := mustParse(t, def)
	p.StopOnHandlerError = true
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := p.Run(ctx, c); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Run = %v, want the handler's exit status 3", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run only returned when its context ended")
	}
}

type hit struct {
	method string
	path   string
	header http.Header
	body   string
}

func hookServer(t *testing.T, tls bool, status int) (*httptest.Server, <-chan hit) {
	t.Helper()
	hits := make(chan hit, 16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hits <- hit{r.Method, r.URL.Path, r.Header.Clone(), string(body)}
		w.WriteHeader(status)
		io.WriteString(w, "hook says hi")
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, hits
}

func nextHit(t *testing.T, hits <-chan hit) hit {
	t.Helper()
	select {
	case h := <-hits:
		return h
	case <-time.After(waitLimit):
		t.Fatal("the HTTP handler sent nothing")
		return hit{}
	}
}

func TestHTTPHandler(t *testing.T) {
	c := startAgent(t)
	srv, hits := hookServer(t, false, http.StatusOK)
	put(t, c, "h/1", "one")
	r := start(t, c, mustParse(t, map[string]any{
		"type": "keyprefix", "prefix": "h/", "handler_type": "http",
		"http_handler_config": map[string]any{
			"path":    srv.URL + "/hook",
			"header":  map[string]any{"X-Token": []any{"abc", "def"}},
			"timeout": "5s",
		},
	}))
	for n, want := range []string{"h/1", "h/2"} {
		if n == 1 {
			put(t, c, "h/2", "two")
		}
		u := r.fires(t, n+1)[n]
		h := nextHit(t, hits)
		if h.method != http.MethodPost || h.path != "/hook" {
			t.Errorf("run %d: %s %s, want POST /hook", n, h.method, h.path)
		}
		if got := h.header.Values("X-Token"); len(got) != 2 || got[0] != "abc" || got[1] != "def" {
			t.Errorf("run %d: X-Token %q", n, got)
		}
		if got := h.header.Get("X-Consul-Index"); got != strconv.FormatUint(u.Index, 10) {
			t.Errorf("run %d: X-Consul-Index %q, want %d", n, got, u.Index)
		}
		if got := h.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("run %d: Content-Type %q", n, got)
		}
		if strings.TrimSpace(h.body) != string(u.JSON) || !strings.Contains(h.body, `"Key":"`+want+`"`) {
			t.Errorf("run %d: body %q, want %s", n, h.body, u.JSON)
		}
		if r.err(n) != nil {
			t.Errorf("run %d: %v", n, r.err(n))
		}
	}
}

func TestHTTPHandlerTLSAndMethod(t *testing.T) {
	c := startAgent(t)
	srv, hits := hookServer(t, true, http.StatusNoContent)
	conf := map[string]any{"path": srv.URL, "method": "put", "tls_skip_verify": true}
	// HCL gives a block as a list of one map.
	r := start(t, c, mustParse(t, map[string]any{
		"type": "nodes", "handler_type": "http", "http_handler_config": []map[string]any{conf},
	}))
	r.fires(t, 1)
	if h := nextHit(t, hits); h.method != http.MethodPut || r.err(0) != nil {
		t.Fatalf("method %s, error %v", h.method, r.err(0))
	}

	// Without tls_skip_verify the test server's certificate is refused.
	delete(conf, "tls_skip_verify")
	r = start(t, c, mustParse(t, map[string]any{
		"type": "nodes", "handler_type": "http", "http_handler_config": conf,
	}))
	r.fires(t, 1)
	if r.err(0) == nil || !strings.Contains(r.err(0).Error(), "certificate") {
		t.Fatalf("error %v, want a certificate error", r.err(0))
	}
}

func TestHTTPHandlerErrorStatus(t *testing.T) {
	c := startAgent(t)
	srv, hits := hookServer(t, false, http.StatusInternalServerError)
	r := start(t, c, mustParse(t, map[string]any{
		"type": "services", "handler_type": "http", "http_handler_config": map[string]any{"path": srv.URL},
	}))
	r.fires(t, 1)
	nextHit(t, hits)
	if err := r.err(0); err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "hook says hi") {
		t.Fatalf("error %v, want the 500 and the reply", err)
	}
}

var _ plan.Handler = (*plan.HTTPHandler)(nil)
var _ plan.Handler = (*plan.ScriptHandler)(nil)
