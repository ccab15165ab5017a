package cli

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestHTTPAddressResolution(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{"default", "", nil, "127.0.0.1:8500"},
		{"consul env", "", map[string]string{"CONSUL_HTTP_ADDR": "10.0.0.1:8500"}, "10.0.0.1:8500"},
		{"herald env wins over consul env", "",
			map[string]string{"CONSUL_HTTP_ADDR": "10.0.0.1:8500", "HERALD_HTTP_ADDR": "10.0.0.2:8500"}, "10.0.0.2:8500"},
		{"flag wins over env", "https://h:8501",
			map[string]string{"CONSUL_HTTP_ADDR": "10.0.0.1:8500", "HERALD_HTTP_ADDR": "10.0.0.2:8500"}, "https://h:8501"},
		{"unix socket", "unix:///run/herald.sock", nil, "unix:///run/herald.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := httpFlags{addr: tt.flag}
			if got := h.address(envOf(tt.env)); got != tt.want {
				t.Errorf("address() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTokenPrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagFile := write("flag-token", "  from-flag-file\n")
	envFile := write("env-token", "from-env-file\n")

	tests := []struct {
		name      string
		token     string
		tokenFile string
		env       map[string]string
		want      string
	}{
		{"none", "", "", nil, ""},
		{"consul env token", "", "", map[string]string{"CONSUL_HTTP_TOKEN": "c"}, "c"},
		{"herald env token first", "", "", map[string]string{"CONSUL_HTTP_TOKEN": "c", "HERALD_HTTP_TOKEN": "h"}, "h"},
		{"env token file beats env token", "", "",
			map[string]string{"CONSUL_HTTP_TOKEN": "c", "CONSUL_HTTP_TOKEN_FILE": envFile}, "from-env-file"},
		{"flag token beats env", "f", "",
			map[string]string{"CONSUL_HTTP_TOKEN": "c", "CONSUL_HTTP_TOKEN_FILE": envFile}, "f"},
		{"flag token file beats flag token", "f", flagFile, nil, "from-flag-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := httpFlags{token: tt.token, tokenFile: tt.tokenFile}
			got, err := h.resolveToken(envOf(tt.env))
			if err != nil || got != tt.want {
				t.Errorf("resolveToken() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}

	h := httpFlags{tokenFile: filepath.Join(dir, "missing")}
	if _, err := h.resolveToken(envOf(nil)); err == nil {
		t.Error("missing token file did not fail")
	}
}

func TestAPIConfigFromFlagsAndEnv(t *testing.T) {
	h := httpFlags{datacenter: "dc2", caFile: "/flag/ca.pem", tlsServerName: "server.dc2.consul"}
	env := envOf(map[string]string{
		"CONSUL_HTTP_ADDR":       "https://10.1.1.1:8501",
		"CONSUL_CACERT":          "/env/ca.pem", // the flag must win
		"CONSUL_CAPATH":          "/env/cas",
		"CONSUL_CLIENT_CERT":     "/env/cert.pem",
		"HERALD_CLIENT_KEY":      "/env/key.pem",
		"CONSUL_HTTP_SSL_VERIFY": "false",
		"CONSUL_HTTP_AUTH":       "user:pa:ss",
	})
	tls := h.tlsConfig(env)
	if tls.CAFile != "/flag/ca.pem" || tls.CAPath != "/env/cas" || tls.CertFile != "/env/cert.pem" ||
		tls.KeyFile != "/env/key.pem" || tls.Address != "server.dc2.consul" || !tls.InsecureSkipVerify {
		t.Errorf("TLSConfig = %+v", tls)
	}

	// The certificate files above do not exist, so build the rest without them.
	h.caFile, h.clientCert, h.clientKey = "", "", ""
	cfg, err := h.apiConfig(func(k string) string {
		switch k {
		case "CONSUL_CACERT", "CONSUL_CAPATH", "CONSUL_CLIENT_CERT", "HERALD_CLIENT_KEY":
			return ""
		}
		return env(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Address != "https://10.1.1.1:8501" || cfg.Datacenter != "dc2" {
		t.Errorf("Address %q Datacenter %q", cfg.Address, cfg.Datacenter)
	}
	if cfg.TLSConfig.Address != "server.dc2.consul" {
		t.Errorf("tls server name %q not passed into the client config", cfg.TLSConfig.Address)
	}
	if cfg.HttpAuth == nil || cfg.HttpAuth.Username != "user" || cfg.HttpAuth.Password != "pa:ss" {
		t.Errorf("HttpAuth = %+v", cfg.HttpAuth)
	}

	cfg, err = (&httpFlags{}).apiConfig(envOf(map[string]string{"CONSUL_HTTP_SSL": "true"}))
	if err != nil || cfg.Scheme != "https" || cfg.TLSConfig.InsecureSkipVerify {
		t.Errorf("CONSUL_HTTP_SSL: cfg %+v err %v", cfg, err)
	}

	// TLS files that do not exist are reported rather than silently ignored.
	for _, bad := range []httpFlags{
		{clientCert: "/nope/cert.pem", clientKey: "/nope/key.pem"},
		{clientCert: "/nope/cert.pem"}, // a certificate without its key
		{caFile: "/nope/ca.pem"},
	} {
		if _, err := bad.apiConfig(envOf(nil)); err == nil {
			t.Errorf("%+v did not fail", bad)
		}
	}
	r := runCLI(t, "kv", "get", "-ca-file=/nope/ca.pem", "k")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error connecting to agent: ") {
		t.Errorf("bad -ca-file: %+v", r)
	}
}

// recorder is an HTTP endpoint that remembers the requests it saw and
// answers every KV read with "not found", so the request a command sends can
// be checked without an agent.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Clone(r.Context()))
	rec.mu.Unlock()
	w.WriteHeader(http.StatusNotFound)
}

func (rec *recorder) last(t *testing.T) *http.Request {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return rec.reqs[len(rec.reqs)-1]
}

func TestRequestCarriesFlags(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(t *testing.T, r *http.Request)
	}{
		{"CONSUL_HTTP_ADDR and token env", map[string]string{"CONSUL_HTTP_ADDR": addr, "CONSUL_HTTP_TOKEN": "tok-env"},
			[]string{"kv", "get", "a/b"},
			func(t *testing.T, r *http.Request) {
				if r.URL.Path != "/v1/kv/a/b" || r.Header.Get("X-Consul-Token") != "tok-env" {
					t.Errorf("path %q token %q", r.URL.Path, r.Header.Get("X-Consul-Token"))
				}
			}},
		{"HERALD_HTTP_ADDR with scheme", map[string]string{"HERALD_HTTP_ADDR": srv.URL, "CONSUL_HTTP_ADDR": "127.0.0.1:1"},
			[]string{"kv", "get", "k"},
			func(t *testing.T, r *http.Request) {
				if r.URL.Path != "/v1/kv/k" {
					t.Errorf("path %q", r.URL.Path)
				}
			}},
		{"flags", nil,
			[]string{"kv", "get", "-http-addr=" + addr, "-token=tok-flag", "-datacenter=dc9", "-stale", "k"},
			func(t *testing.T, r *http.Request) {
				q := r.URL.Query()
				if r.Header.Get("X-Consul-Token") != "tok-flag" || q.Get("dc") != "dc9" || !q.Has("stale") {
					t.Errorf("token %q query %v", r.Header.Get("X-Consul-Token"), q)
				}
			}},
		{"keys with default separator", map[string]string{"CONSUL_HTTP_ADDR": addr},
			[]string{"kv", "get", "-keys", "/app/"},
			func(t *testing.T, r *http.Request) {
				q := r.URL.Query()
				if r.URL.Path != "/v1/kv/app/" || !q.Has("keys") || q.Get("separator") != "/" {
					t.Errorf("path %q query %v", r.URL.Path, q)
				}
			}},
		{"keys with empty separator", map[string]string{"CONSUL_HTTP_ADDR": addr},
			[]string{"kv", "get", "-keys", "-separator=", "app"},
			func(t *testing.T, r *http.Request) {
				if q := r.URL.Query(); q.Has("separator") {
					t.Errorf("query %v", q)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			invocation{env: tt.env}.run(t, tt.args...)
			tt.check(t, rec.last(t))
		})
	}
}

func TestUnixSocketAddress(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	rec := &recorder{}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: rec}}
	srv.Start()
	defer srv.Close()

	r := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": "unix://" + sock}}.run(t, "kv", "get", "k")
	if r.code != 1 || r.stderr != "Error! No key exists at: k\n" {
		t.Errorf("got %+v", r)
	}
	if got := rec.last(t).URL.Path; got != "/v1/kv/k" {
		t.Errorf("path %q", got)
	}
}

func TestUnreachableAgent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here any more

	r := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}.run(t, "kv", "get", "k")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error querying agent: ") || r.stdout != "" {
		t.Errorf("got %+v", r)
	}
}
