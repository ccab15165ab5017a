package watch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxPayload is the largest message the embedded server takes: 8 MiB, the
// most NATS advises, for large KV values and transactions in events.
const MaxPayload = 8 << 20

// ServerConfig configures the embedded NATS server.
type ServerConfig struct {
	// Host is the client listen address; empty means NATS's default,
	// 0.0.0.0.
	Host string
	// Port is the client port: 0 means NATS's default 4222, -1 a random
	// free port (tests; read it back from ClientURL).
	Port int
	// StoreDir is where JetStream keeps its file store. Empty means a
	// temporary directory that Shutdown removes (for -dev and tests).
	StoreDir string
	// ServerName names the server in NATS (and in a JetStream cluster,
	// where it must be unique and stable). Empty lets NATS pick one.
	ServerName string
	// LogLevel is the least severe NATS log message passed on: "error"
	// (the default), "warn", "info", "debug" or "trace".
	LogLevel string
	// Logger receives NATS's log messages; nil means slog.Default().
	Logger *slog.Logger
	// ReadyTimeout bounds how long StartServer waits for the server to
	// accept clients; zero means 10s.
	ReadyTimeout time.Duration
	// ClientAuth, when set, authenticates every client connection and
	// gives it its permissions (auth.go); nil lets every client in with
	// every permission, as when ACLs are disabled.
	ClientAuth ClientAuth

	// The fields below make the servers' embedded NATS servers one NATS
	// cluster with clustered JetStream. With no Routes they are not used
	// (apart from ClusterPort, which then must be 0): the server is a
	// single NATS server with standalone JetStream, as before.

	// ClusterName names the NATS cluster, e.g. "herald-<dc>"; every server
	// of the cluster must use the same one. Required with Routes.
	ClusterName string
	// ClusterHost is the address the routes listener binds to; empty means
	// Host, or 0.0.0.0 when Host is empty too.
	ClusterHost string
	// ClusterPort is the routes listener's port: 0 means NATS's default
	// 6222, -1 a random free port (read it back from ClusterAddr).
	ClusterPort int
	// Routes are the other servers' routes listeners, as
	// nats-route://host:port. They may include this server's own: NATS
	// recognises and skips a route to itself, so every server can be given
	// the same list, which is what NATS recommends, because JetStream sizes
	// its first meta group from the number of routes (at least 2). With
	// Routes, ServerName is required: JetStream identifies its peers by
	// it, so it must be unique in the cluster and the same after a
	// restart.
	Routes []string

	// TLS, when set, makes the client port TLS only, with this
	// configuration: a ClientAuth of tls.RequireAndVerifyClientCert
	// requires every client to present a certificate of ClientCAs.
	TLS *tls.Config
	// ClusterTLS, when set, makes the routes TLS: it is used both to
	// accept routes (it must then require and verify client certificates,
	// as NATS requires of routes) and to dial them (RootCAs, ServerName).
	ClusterTLS *tls.Config
}

// EmbeddedServer is a nats-server running in this process with JetStream.
type EmbeddedServer struct {
	ns      *server.Server
	tempDir string // removed at Shutdown when StartServer created it
	once    sync.Once
}

// StartServer starts nats-server in-process with JetStream enabled and waits
// until it accepts client connections. It fails (having stopped what it
// started) if the server cannot listen, for example because the port is in
// use, or JetStream cannot start.
func StartServer(cfg ServerConfig) (*EmbeddedServer, error) {
	level, err := parseLogLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	es := &EmbeddedServer{}
	storeDir := cfg.StoreDir
	if storeDir == "" {
		storeDir, err = os.MkdirTemp("", "herald-nats-")
		if err != nil {
			return nil, fmt.Errorf("watch: embedded NATS: temporary store dir: %w", err)
		}
		es.tempDir = storeDir
	}
	opts := &server.Options{
		ServerName: cfg.ServerName,
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   storeDir,
		// Herald owns the process's signals (SIGHUP reloads Herald's
		// config, SIGTERM leaves gracefully); NATS must not act on them.
		NoSigs:     true,
		MaxPayload: MaxPayload,
	}
	if cfg.TLS != nil {
		opts.TLSConfig = cfg.TLS
		opts.TLSVerify = cfg.TLS.ClientAuth == tls.RequireAndVerifyClientCert
		opts.TLSTimeout = tlsTimeout
	}
	if err := clusterOptions(cfg, opts); err != nil {
		es.removeTemp()
		return nil, err
	}
	clientAuthOptions(cfg, opts)
	ns, err := server.NewServer(opts)
	if err != nil {
		es.removeTemp()
		return nil, fmt.Errorf("watch: embedded NATS: %w", err)
	}
	es.ns = ns
	sl := &slogAdapter{log: logger.With("component", "nats"), level: level, fatal: make(chan string, 1)}
	sl.starting.Store(true)
	ns.SetLoggerV2(sl, level <= slog.LevelDebug, level < slog.LevelDebug, false)

	ns.Start()

	timeout := cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	err = waitReady(ns, sl.fatal, timeout)
	sl.starting.Store(false)
	if err != nil {
		es.Shutdown()
		addr := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
		if len(cfg.Routes) > 0 {
			addr += fmt.Sprintf(" (routes on %s:%d)", opts.Cluster.Host, opts.Cluster.Port)
		}
		return nil, fmt.Errorf("watch: embedded NATS server on %s did not start: %w", addr, err)
	}
	if cfg.ClientAuth != nil {
		cfg.ClientAuth.Attach(ns)
	}
	return es, nil
}

// tlsTimeout bounds a TLS handshake on the client port and the routes, in
// seconds: NATS's default is tight for a loaded host.
const tlsTimeout = 5

// DefaultClusterPort is the routes port used when ServerConfig.ClusterPort is
// 0: NATS's conventional cluster port.
const DefaultClusterPort = 6222

// clusterOptions sets opts up for a NATS cluster with clustered JetStream
// when cfg has Routes. NATS runs JetStream clustered as soon as a routes
// listener is configured, and then refuses to start JetStream without a
// cluster name, routes and a stable server name, so those are checked here
// with clearer errors.
func clusterOptions(cfg ServerConfig, opts *server.Options) error {
	if len(cfg.Routes) == 0 {
		if cfg.ClusterPort != 0 {
			return errors.New("watch: embedded NATS: ClusterPort needs Routes (NATS's clustered JetStream does not start without routes)")
		}
		return nil
	}
	if cfg.ClusterName == "" {
		return errors.New("watch: embedded NATS: Routes need a ClusterName")
	}
	if cfg.ServerName == "" {
		return errors.New("watch: embedded NATS: Routes need a ServerName, unique in the cluster and stable across restarts")
	}
	if strings.ContainsAny(cfg.ClusterName, " \t.*>") {
		return fmt.Errorf("watch: embedded NATS: cluster name %q must not contain spaces, '.', '*' or '>'", cfg.ClusterName)
	}
	routes := make([]*url.URL, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" || u.Port() == "" {
			return fmt.Errorf("watch: embedded NATS: bad route %q (want nats-route://host:port)", r)
		}
		routes = append(routes, u)
	}
	host := cfg.ClusterHost
	if host == "" {
		host = cfg.Host
	}
	port := cfg.ClusterPort
	if port == 0 {
		port = DefaultClusterPort
	}
	opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port}
	if cfg.ClusterTLS != nil {
		if cfg.ClusterTLS.ClientAuth != tls.RequireAndVerifyClientCert {
			return errors.New("watch: embedded NATS: ClusterTLS must require and verify client certificates")
		}
		opts.Cluster.TLSConfig = cfg.ClusterTLS
		opts.Cluster.TLSTimeout = tlsTimeout
	}
	opts.Routes = routes
	return nil
}

// waitReady polls in short steps rather than one long ReadyForConnections,
// because NATS reports a failure to listen only through its logger and would
// otherwise keep the caller waiting for the whole timeout.
func waitReady(ns *server.Server, fatal <-chan string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		select {
		case msg := <-fatal:
			return fatalError(msg)
		default:
		}
		if ns.ReadyForConnections(50*time.Millisecond) && ns.JetStreamEnabled() {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("not ready for connections after %s", timeout)
		}
	}
}

// ErrClientPortInUse and ErrClusterPortInUse are wrapped by StartServer's
// error when another process holds the client port or the routes port, so
// that a caller free to choose another port can retry with one.
var (
	ErrClientPortInUse  = errors.New("client port in use")
	ErrClusterPortInUse = errors.New("cluster port in use")
)

// fatalError turns the message NATS gave up with into an error, wrapping
// ErrClientPortInUse or ErrClusterPortInUse when it failed to listen
// because the port is taken. NATS reports that only as text: "Error
// listening on port: ..." for clients, "Error listening on router port:
// ..." for routes, each followed by the system's error.
func fatalError(msg string) error {
	if !strings.Contains(msg, syscall.EADDRINUSE.Error()) {
		return errors.New(msg)
	}
	switch {
	case strings.HasPrefix(msg, "Error listening on router port"):
		return fmt.Errorf("%w: %s", ErrClusterPortInUse, msg)
	case strings.HasPrefix(msg, "Error listening on port"):
		return fmt.Errorf("%w: %s", ErrClientPortInUse, msg)
	}
	return errors.New(msg)
}

// ClientPort is the port the client listener is bound to: the one
// ServerConfig.Port asked for, or the one the system picked.
func (s *EmbeddedServer) ClientPort() int {
	if a, ok := s.ns.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// ClientURL is the URL clients connect to, e.g. nats://127.0.0.1:4222.
func (s *EmbeddedServer) ClientURL() string {
	return s.ns.ClientURL()
}

// ClusterAddr is the routes listener's address, host:port, or "" when the
// server is not clustered.
func (s *EmbeddedServer) ClusterAddr() string {
	a := s.ns.ClusterAddr()
	if a == nil {
		return ""
	}
	return a.String()
}

// Name is the server's name in NATS.
func (s *EmbeddedServer) Name() string {
	return s.ns.Name()
}

// NumRoutes is how many route connections the server has to other servers
// of its cluster.
func (s *EmbeddedServer) NumRoutes() int {
	return s.ns.NumRoutes()
}

// JetStreamClusterReady reports whether this server is part of a JetStream
// cluster whose meta group has a leader that this server is up to date with,
// that is, whether JetStream API requests through it can be served. It is
// false for a server that is not clustered. StartServer does not wait for
// this: a server starting first has to wait for enough of the others.
func (s *EmbeddedServer) JetStreamClusterReady() bool {
	return s.ns.JetStreamIsClustered() && s.ns.JetStreamIsCurrent()
}

// Shutdown stops the server and waits until it has stopped. It is safe to
// call more than once.
func (s *EmbeddedServer) Shutdown() {
	s.once.Do(func() {
		if s.ns != nil {
			s.ns.Shutdown()
			s.ns.WaitForShutdown()
		}
		s.removeTemp()
	})
}

func (s *EmbeddedServer) removeTemp() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "error", "err":
		return slog.LevelError, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "info", "notice":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "trace":
		return levelTrace, nil
	}
	return 0, fmt.Errorf("watch: unknown NATS log level %q (want error, warn, info, debug or trace)", s)
}

// levelTrace is below slog's Debug for NATS's protocol traces.
const levelTrace = slog.LevelDebug - 4

// slogAdapter is NATS's server.Logger writing to slog. NATS calls Fatalf
// when it cannot go on (for example, it cannot listen); a standalone
// nats-server would exit, here the message is logged and handed to
// StartServer so it can fail with it.
type slogAdapter struct {
	log   *slog.Logger
	level slog.Level
	fatal chan string
	// starting is true while StartServer waits for the server: a fatal
	// message then becomes StartServer's error, which its caller reports
	// (or, for a taken port it may replace, acts on), so it is not logged
	// here as well.
	starting atomic.Bool
}

func (a *slogAdapter) logf(l slog.Level, format string, v []any) {
	if l < a.level || !a.log.Enabled(context.Background(), l) {
		return
	}
	a.log.Log(context.Background(), l, fmt.Sprintf(format, v...))
}

func (a *slogAdapter) Noticef(format string, v ...any) { a.logf(slog.LevelInfo, format, v) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.logf(slog.LevelWarn, format, v) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.logf(slog.LevelError, format, v) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.logf(slog.LevelDebug, format, v) }
func (a *slogAdapter) Tracef(format string, v ...any)  { a.logf(levelTrace, format, v) }

func (a *slogAdapter) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if !a.starting.Load() {
		a.log.Error(msg, "fatal", true)
	}
	select {
	case a.fatal <- msg:
	default:
	}
}
