package checks

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
)

func TestHTTPStatusFlips(t *testing.T) {
	const interval = 100 * time.Millisecond
	var code atomic.Int64
	code.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(code.Load()))
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "web", HTTP: srv.URL, Interval: interval}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		code         int
		status, text string
	}{
		{200, "passing", "200 OK"},
		{429, "warning", "429 Too Many Requests"},
		{503, "critical", "503 Service Unavailable"},
		{204, "passing", "204 No Content"},
		{301, "critical", "301 Moved Permanently"}, // no Location: not followed, and not 2xx
		{200, "passing", "200 OK"},
	} {
		code.Store(int64(step.code))
		out := waitStatus(t, r, "web", step.status, interval+slack)
		body := "ok"
		if step.code == 204 {
			body = ""
		}
		if want := "HTTP GET " + srv.URL + ": " + step.text + " Output: " + body; out != want {
			t.Errorf("code %d: output %q, want %q", step.code, out, want)
		}
	}
	r.Remove("web")
	want := []string{"passing", "warning", "critical", "passing", "critical", "passing"}
	if got := rec.transitions("web"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reported %v, want %v", got, want)
	}
}

// TestHTTPRequest: method, headers (Host included), body and the default
// User-Agent reach the server.
func TestHTTPRequest(t *testing.T) {
	type seen struct {
		method, host, ua, body string
		foo                    []string
	}
	var mu sync.Mutex
	var last seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = seen{r.Method, r.Host, r.UserAgent(), string(b), r.Header.Values("X-Foo")}
		mu.Unlock()
	}))
	defer srv.Close()
	r, _ := newTestRunner(t, Config{})
	err := r.Add(Definition{CheckID: "web", HTTP: srv.URL + "/health", Interval: 50 * time.Millisecond,
		Method: "POST", Body: `{"method":"health"}`,
		Header: map[string][]string{"x-foo": {"bar", "baz"}, "host": {"web.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	out := waitStatus(t, r, "web", "passing", slack)
	if want := "HTTP POST " + srv.URL + "/health: 200 OK Output: "; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if last.method != "POST" || last.host != "web.example" || last.body != `{"method":"health"}` ||
		strings.Join(last.foo, ",") != "bar,baz" || last.ua != "Consul Health Check" {
		t.Errorf("server saw %+v", last)
	}
}

func TestHTTPRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusFound) })
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "moved here") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	r, _ := newTestRunner(t, Config{})
	for _, d := range []Definition{
		{CheckID: "follows", HTTP: srv.URL + "/old", Interval: time.Second},
		{CheckID: "stays", HTTP: srv.URL + "/old", Interval: time.Second, DisableRedirects: true},
	} {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	if out := waitStatus(t, r, "follows", "passing", slack); !strings.HasSuffix(out, "200 OK Output: moved here") {
		t.Errorf("followed redirect: output %q", out)
	}
	poll.True(t, slack, "the redirect check's first run", func() bool {
		_, out, _ := r.Status("stays")
		return out != ""
	})
	if s, out, _ := r.Status("stays"); s != "critical" || !strings.Contains(out, "302 Found") {
		t.Errorf("redirects disabled: %s %q, want critical on the 302", s, out)
	}
}

func TestHTTPTimeoutAndRefused(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r, _ := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "slow", HTTP: srv.URL, Interval: 200 * time.Millisecond, Timeout: 30 * time.Millisecond, Status: "passing"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(Definition{CheckID: "gone", HTTP: "http://" + freeAddr(t), Interval: 50 * time.Millisecond, Status: "passing"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := waitStatus(t, r, "slow", "critical", slack)
	if !strings.Contains(out, "deadline exceeded") && !strings.Contains(out, "Timeout") {
		t.Errorf("timeout output %q", out)
	}
	if e := time.Since(start); e < 30*time.Millisecond {
		t.Errorf("critical after %v, before the 30ms timeout", e)
	}
	if out := waitStatus(t, r, "gone", "critical", slack); !strings.Contains(out, "connection refused") {
		t.Errorf("refused output %q", out)
	}
}

func TestHTTPOutputCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 10000))
	}))
	defer srv.Close()
	r, _ := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "big", HTTP: srv.URL, Interval: time.Second, OutputMaxSize: 100}); err != nil {
		t.Fatal(err)
	}
	out := waitStatus(t, r, "big", "passing", slack)
	if want := "HTTP GET " + srv.URL + ": 200 OK Output: " + strings.Repeat("x", 100); out != want {
		t.Errorf("output of %d bytes, want the body capped at 100 (%d bytes)", len(out), len(want))
	}
}

func TestHTTPTLS(t *testing.T) {
	var sni atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni.Store(h.ServerName)
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	other.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing check's handshakes
	other.StartTLS()
	defer other.Close()
	r, _ := newTestRunner(t, Config{})
	for _, d := range []Definition{
		{CheckID: "skip", HTTP: srv.URL, Interval: time.Second, TLSSkipVerify: true, TLSServerName: "web.example"},
		{CheckID: "verify", HTTP: other.URL, Interval: time.Second, Status: "passing"},
	} {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, r, "skip", "passing", slack)
	if got, _ := sni.Load().(string); got != "web.example" {
		t.Errorf("server saw SNI %q, want the TLSServerName web.example", got)
	}
	// The test server's certificate is signed by an unknown authority.
	if out := waitStatus(t, r, "verify", "critical", slack); !strings.Contains(out, "certificate") {
		t.Errorf("verification failure output %q", out)
	}
}
