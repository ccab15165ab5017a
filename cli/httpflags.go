package cli

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"
)

// defaultHTTPAddr is where an agent's HTTP API listens unless configured
// otherwise (Consul's default, which Herald keeps).
const defaultHTTPAddr = "127.0.0.1:8500"

// httpFlags are the options every command that talks to an agent accepts,
// with Consul's names and environment variables. Herald's own HERALD_*
// variables take precedence over the CONSUL_* ones so that a machine running
// both can point each at its own agent.
type httpFlags struct {
	addr          string
	token         string
	tokenFile     string
	datacenter    string
	stale         bool
	caFile        string
	caPath        string
	clientCert    string
	clientKey     string
	tlsServerName string
}

// httpFlagNames lets help output put these flags in their own section.
var httpFlagNames = map[string]bool{
	"http-addr": true, "token": true, "token-file": true, "datacenter": true,
	"stale": true, "ca-file": true, "ca-path": true, "client-cert": true,
	"client-key": true, "tls-server-name": true,
}

// addTo registers the flags on fs.
func (h *httpFlags) addTo(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "http-addr", "",
		"The `address` and port of the agent's HTTP API, optionally prefixed with "+
			"http:// or https://, or unix:///path/to/socket. Defaults to $HERALD_HTTP_ADDR, "+
			"then $CONSUL_HTTP_ADDR, then http://"+defaultHTTPAddr+".")
	fs.StringVar(&h.token, "token", "",
		"ACL `token` to send with requests. Defaults to $HERALD_HTTP_TOKEN, then "+
			"$CONSUL_HTTP_TOKEN.")
	fs.StringVar(&h.tokenFile, "token-file", "",
		"Read the ACL token from the file at `path`; takes precedence over -token. Defaults to "+
			"$HERALD_HTTP_TOKEN_FILE, then $CONSUL_HTTP_TOKEN_FILE.")
	fs.StringVar(&h.datacenter, "datacenter", "",
		"Name of the `datacenter` to query. Defaults to the agent's own datacenter.")
	fs.BoolVar(&h.stale, "stale", false,
		"Let any server answer reads, not only the leader: faster and available "+
			"without a leader, but possibly slightly out of date.")
	fs.StringVar(&h.caFile, "ca-file", "",
		"Verify the agent's TLS certificate against the CA certificate at `path`. "+
			"Defaults to $HERALD_CACERT, then $CONSUL_CACERT.")
	fs.StringVar(&h.caPath, "ca-path", "",
		"Verify against the CA certificates in the directory at `path`. Defaults to $HERALD_CAPATH, "+
			"then $CONSUL_CAPATH.")
	fs.StringVar(&h.clientCert, "client-cert", "",
		"Present the client certificate at `path`, for agents that verify incoming TLS "+
			"connections. Defaults to $HERALD_CLIENT_CERT, then $CONSUL_CLIENT_CERT.")
	fs.StringVar(&h.clientKey, "client-key", "",
		"Read the client certificate's private key from `path`. Defaults to "+
			"$HERALD_CLIENT_KEY, then $CONSUL_CLIENT_KEY.")
	fs.StringVar(&h.tlsServerName, "tls-server-name", "",
		"Server `name` to use for SNI and certificate verification. Defaults to "+
			"$HERALD_TLS_SERVER_NAME, then $CONSUL_TLS_SERVER_NAME.")
}

// envFirst returns the first non-empty value among the named variables.
func envFirst(env func(string) string, names ...string) string {
	for _, n := range names {
		if v := env(n); v != "" {
			return v
		}
	}
	return ""
}

// pick is the flag value if given, else the first set environment variable.
func pick(flagValue string, env func(string) string, names ...string) string {
	if flagValue != "" {
		return flagValue
	}
	return envFirst(env, names...)
}

// address resolves the agent address: flag, then environment, then default.
func (h *httpFlags) address(env func(string) string) string {
	if a := pick(h.addr, env, "HERALD_HTTP_ADDR", "CONSUL_HTTP_ADDR"); a != "" {
		return a
	}
	return defaultHTTPAddr
}

// resolveToken applies Consul's documented precedence: -token-file, -token,
// the token-file variable, then the token variable.
func (h *httpFlags) resolveToken(env func(string) string) (string, error) {
	if h.tokenFile != "" {
		return readTokenFile(h.tokenFile)
	}
	if h.token != "" {
		return h.token, nil
	}
	if f := envFirst(env, "HERALD_HTTP_TOKEN_FILE", "CONSUL_HTTP_TOKEN_FILE"); f != "" {
		return readTokenFile(f)
	}
	return envFirst(env, "HERALD_HTTP_TOKEN", "CONSUL_HTTP_TOKEN"), nil
}

func readTokenFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading token file: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// envBool parses a boolean variable; unset or unparsable means def, the way
// Consul's client treats a malformed CONSUL_HTTP_SSL (warn and ignore).
func envBool(env func(string) string, def bool, names ...string) bool {
	v := envFirst(env, names...)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// tlsConfig resolves the TLS settings from flags and env.
func (h *httpFlags) tlsConfig(env func(string) string) api.TLSConfig {
	return api.TLSConfig{
		Address:  pick(h.tlsServerName, env, "HERALD_TLS_SERVER_NAME", "CONSUL_TLS_SERVER_NAME"),
		CAFile:   pick(h.caFile, env, "HERALD_CACERT", "CONSUL_CACERT"),
		CAPath:   pick(h.caPath, env, "HERALD_CAPATH", "CONSUL_CAPATH"),
		CertFile: pick(h.clientCert, env, "HERALD_CLIENT_CERT", "CONSUL_CLIENT_CERT"),
		KeyFile:  pick(h.clientKey, env, "HERALD_CLIENT_KEY", "CONSUL_CLIENT_KEY"),
		// Verification is on unless explicitly turned off.
		InsecureSkipVerify: !envBool(env, true, "HERALD_HTTP_SSL_VERIFY", "CONSUL_HTTP_SSL_VERIFY"),
	}
}

// apiConfig builds the client configuration from flags and env. Every field
// the client would otherwise fill from the process environment is set here,
// so that the environment seen is the IO's, not the test binary's.
func (h *httpFlags) apiConfig(env func(string) string) (*api.Config, error) {
	token, err := h.resolveToken(env)
	if err != nil {
		return nil, err
	}
	cfg := &api.Config{
		Address:    h.address(env),
		Scheme:     "http",
		Datacenter: h.datacenter,
		Token:      token,
		TLSConfig:  h.tlsConfig(env),
	}
	if envBool(env, false, "HERALD_HTTP_SSL", "CONSUL_HTTP_SSL") {
		cfg.Scheme = "https"
	}
	if auth := envFirst(env, "HERALD_HTTP_AUTH", "CONSUL_HTTP_AUTH"); auth != "" {
		user, pass, _ := strings.Cut(auth, ":")
		cfg.HttpAuth = &api.HttpBasicAuth{Username: user, Password: pass}
	}
	// Building the HTTP client ourselves keeps api.NewClient from merging in
	// TLS settings from the process environment. The TLS config is set
	// explicitly because a cloned default transport may already carry one,
	// and the client library would then skip loading our certificates.
	tlsConfig, err := api.SetupTLSConfig(&cfg.TLSConfig)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	cfg.Transport = transport
	cfg.HttpClient = &http.Client{Transport: transport}
	return cfg, nil
}

// client returns an API client for the configured agent.
func (h *httpFlags) client(env func(string) string) (*api.Client, error) {
	cfg, err := h.apiConfig(env)
	if err != nil {
		return nil, err
	}
	return api.NewClient(cfg)
}

// queryOptions carries the read-consistency flags into a request.
func (h *httpFlags) queryOptions() *api.QueryOptions {
	return &api.QueryOptions{AllowStale: h.stale}
}

// connect builds the client or reports why it cannot, Consul-style.
func (h *httpFlags) connect(cio IO) (*api.Client, bool) {
	c, err := h.client(cio.Env)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error connecting to agent: %s\n", err)
		return nil, false
	}
	return c, true
}

// httpOnlyFlags is the flag set of a command whose only options are the
// HTTP ones.
func httpOnlyFlags(name string, h *httpFlags) *flag.FlagSet {
	fs := newFlagSet(name)
	h.addTo(fs)
	return fs
}

// withAgent is the Run of a command whose only options are the HTTP ones
// and that takes no arguments: it parses the flags, connects, and hands the
// client and the flags (for their query options) to run.
func withAgent(name, help string, run func(client *api.Client, h *httpFlags, cio IO) int) func([]string, IO) int {
	return func(args []string, cio IO) int {
		var h httpFlags
		fs := httpOnlyFlags(name, &h)
		if ok, code := parseFlags(fs, args, help, cio); !ok {
			return code
		}
		client, ok := h.connect(cio)
		if !ok {
			return 1
		}
		return run(client, &h, cio)
	}
}
