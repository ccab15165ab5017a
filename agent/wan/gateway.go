package wan

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/tlsutil"
)

// TagGatewayPort is the Serf WAN tag with a server's NATS gateway port.
const TagGatewayPort = "nats_gw_port"

// maxPayload is the largest request or answer the gateways carry: NATS's
// most advised size, as for the event stream.
const maxPayload = 8 << 20

// GatewayConfig describes one server's gateway.
type GatewayConfig struct {
	// Name is the gateway's name, GatewayName of the server's WAN member.
	Name string
	// Host and Port are where the gateway listens for the other servers'
	// gateways; Port 0 lets the system pick one.
	Host string
	Port int
	// Advertise is the host the other datacenters reach the gateway at.
	Advertise string
	// Secret, when not empty, is the password every gateway presents and
	// requires (GatewaySecret of the gossip key).
	Secret string
	// TLS, when not nil, is the TLS of every gateway link, both ways
	// (tlsutil's WANConfig): NATS listens with its Config, dials each
	// remote gateway with the configuration for its datacenter (Dial), and
	// refuses a gateway without TLS. With TLS.ConfiguredOnly (the names
	// checked), the gateways that NATS learns of from the others and that
	// were not given to SetRemotes are neither dialed nor let in. The
	// password is still required on top of TLS.
	TLS    *tlsutil.WAN
	Logger *slog.Logger
	// ReadyWithin is how long the start may take (10 s when zero). NATS
	// reports a gateway port taken by another process only in its log and
	// then waits this long, so a caller that can fall back to another port
	// gives a short one.
	ReadyWithin time.Duration
}

// Gateway is a server's NATS server for the traffic between datacenters,
// and this process's connection to it.
type Gateway struct {
	cfg GatewayConfig
	log *slog.Logger

	mu         sync.Mutex
	ns         *server.Server
	port       int // the gateway port, fixed at the first start
	clientPort int // the local client port, fixed at the first start
	token      string
	remotes    map[string]Remote // by gateway name, configured
	conn       *nats.Conn
	closed     bool
	// linked and linkedAt are Linked's last answer and its time: every
	// request in flight to another datacenter asks several times a second.
	linked   map[string]bool
	linkedAt time.Time
}

// Remote is a remote gateway: where it listens, and the datacenter of
// its server, whose server name its certificate must carry (with TLS and
// verify_server_hostname).
type Remote struct {
	Addr       string // host:port
	Datacenter string
}

// linkedFresh is how long Linked's answer is reused.
const linkedFresh = 100 * time.Millisecond

// GatewayName is the NATS gateway name of a WAN member ("<node>.<dc>"):
// its name with every character NATS or a subject would not take
// replaced.
func GatewayName(member string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, member)
}

// GatewaySecret is the gateways' password for a gossip key: servers that
// gossip with the same key accept each other's gateways. "" without one.
func GatewaySecret(gossipKey string) string {
	if gossipKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("herald nats gateway\x00" + gossipKey))
	return hex.EncodeToString(sum[:])
}

// StartGateway starts the gateway's NATS server and connects to it.
func StartGateway(cfg GatewayConfig) (*Gateway, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger.With("component", "nats.gateway"), port: cfg.Port,
		clientPort: -1, token: hex.EncodeToString(tok), remotes: map[string]Remote{}}
	if err := g.startServer(); err != nil {
		return nil, err
	}
	nc, err := nats.Connect(g.clientURL(), nats.Token(g.token), nats.Name("herald wan"),
		nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.ReconnectJitter(10*time.Millisecond, 0),
		nats.ReconnectBufSize(-1), nats.IgnoreDiscoveredServers())
	if err != nil {
		g.ns.Shutdown()
		return nil, fmt.Errorf("wan: connect to the gateway's NATS: %w", err)
	}
	g.conn = nc
	return g, nil
}

func (g *Gateway) clientURL() string {
	return "nats://127.0.0.1:" + strconv.Itoa(g.clientPort)
}

// startServer starts the NATS server with the configured remotes; the
// caller holds mu or owns g alone.
func (g *Gateway) startServer() error {
	opts := &server.Options{
		ServerName:    g.cfg.Name,
		Host:          "127.0.0.1",
		Port:          g.clientPort,
		Authorization: g.token,
		NoSigs:        true,
		MaxPayload:    maxPayload,
		// A gateway that stops answering is given up within seconds,
		// so that requests to its datacenter fail fast.
		PingInterval: 2 * time.Second,
		MaxPingsOut:  2,
		Gateway: server.GatewayOpts{
			Name: g.cfg.Name, Host: g.cfg.Host, Port: g.port, Advertise: g.advertise(),
			Password: g.cfg.Secret, Username: gatewayUser(g.cfg.Secret),
			ConnectRetries: 1 << 20,
		},
	}
	if g.cfg.TLS != nil {
		opts.Gateway.TLSConfig = g.cfg.TLS.Config
		// With ConfiguredOnly, TLSConfig refuses every gateway NATS dials
		// with it: those it learns of from the others, whose datacenter it
		// does not know. RejectUnknown keeps it from trying, and from
		// letting them in, since a link needs both ways anyway.
		opts.Gateway.RejectUnknown = g.cfg.TLS.ConfiguredOnly
	}
	if opts.Gateway.Port == 0 {
		opts.Gateway.Port = -1
	}
	for name, r := range g.remotes {
		u := &url.URL{Scheme: "nats", Host: r.Addr}
		if g.cfg.Secret != "" {
			u.User = url.UserPassword(gatewayUser(g.cfg.Secret), g.cfg.Secret)
		}
		// The addresses other gateways tell of for this one are dialed
		// with its configuration too.
		rg := &server.RemoteGatewayOpts{Name: name, URLs: []*url.URL{u}}
		if g.cfg.TLS != nil {
			rg.TLSConfig = g.cfg.TLS.Dial(r.Datacenter)
		}
		opts.Gateway.Gateways = append(opts.Gateway.Gateways, rg)
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("wan: gateway NATS: %w", err)
	}
	ns.SetLoggerV2(natsLogger{log: g.log, verifiesItself: g.cfg.TLS != nil && g.cfg.TLS.Config.VerifyConnection != nil,
		repeats: &repeatFilter{seen: map[string]*repeated{}, now: time.Now}}, false, false, false)
	ns.Start()
	within := g.cfg.ReadyWithin
	if within <= 0 {
		within = 10 * time.Second
	}
	if !ns.ReadyForConnections(within) {
		ns.Shutdown()
		return fmt.Errorf("wan: the gateway's NATS server did not start (gateway port %d on %s)", g.port, g.cfg.Host)
	}
	g.ns = ns
	if g.clientPort <= 0 {
		g.clientPort = ns.Addr().(*net.TCPAddr).Port
	}
	if g.port <= 0 {
		gz, err := ns.Gatewayz(nil)
		if err != nil || gz.Port == 0 {
			return errors.New("wan: the gateway's port is unknown")
		}
		g.port = gz.Port
	}
	return nil
}

func gatewayUser(secret string) string {
	if secret == "" {
		return ""
	}
	return "herald"
}

func (g *Gateway) advertise() string {
	if g.cfg.Advertise == "" {
		return ""
	}
	return net.JoinHostPort(g.cfg.Advertise, strconv.Itoa(max(g.port, 0)))
}

// Port is the port the gateway listens on.
func (g *Gateway) Port() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.port
}

// Conn is this process's connection to the gateway's NATS server.
func (g *Gateway) Conn() *nats.Conn { return g.conn }

// SetRemotes makes sure the gateway knows of every gateway in remotes,
// by name. NATS cannot add a remote gateway to a running server, but a
// gateway learns of those that connect to it and connects back, and tells
// them of the others it knows: a server that joins the WAN has its
// gateway connect to the others, and theirs need no change. So the server
// restarts with the new list only when a remote is neither configured nor
// connected either way, which is at a server's start once it joined the
// WAN pool. With TLS.ConfiguredOnly, a gateway dials only the remotes
// given here (its datacenter's server name is checked), so it restarts
// for every new remote it does not dial yet: each server's at the join of
// another. The connection reconnects and subscribes again by itself; the
// requests it had in flight then time out.
func (g *Gateway) SetRemotes(remotes map[string]Remote) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	connected := g.connectedLocked(g.cfg.TLS != nil && g.cfg.TLS.ConfiguredOnly)
	missing := false
	for name, r := range remotes {
		if name == g.cfg.Name {
			continue
		}
		if g.remotes[name] != r && !connected[name] {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	for name, r := range remotes {
		if name != g.cfg.Name {
			g.remotes[name] = r
		}
	}
	names := make([]string, 0, len(g.remotes))
	for n := range g.remotes {
		names = append(names, n)
	}
	slices.Sort(names)
	g.log.Info("restarting the NATS gateway with new remote gateways", "remotes", names)
	g.ns.Shutdown()
	g.ns.WaitForShutdown()
	return g.startServer()
}

// Linked lists the remote gateways connected to this one both ways, by
// name: a request goes out on this gateway's connection and its answer
// comes back on the remote's, so a remote connected one way only loses
// the answers. The map is shared: read it, do not write it.
func (g *Gateway) Linked() map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.linked != nil && time.Since(g.linkedAt) < linkedFresh {
		return g.linked
	}
	out := map[string]bool{}
	if g.ns == nil {
		return out
	}
	gz, err := g.ns.Gatewayz(nil)
	if err != nil {
		return out
	}
	for name, rg := range gz.OutboundGateways {
		if rg != nil && rg.Connection != nil && len(gz.InboundGateways[name]) > 0 {
			out[name] = true
		}
	}
	g.linked, g.linkedAt = out, time.Now()
	return out
}

// connectedLocked are the remote gateways connected either way, or
// those this one dialed when outboundOnly.
func (g *Gateway) connectedLocked(outboundOnly bool) map[string]bool {
	out := map[string]bool{}
	if g.ns == nil {
		return out
	}
	gz, err := g.ns.Gatewayz(nil)
	if err != nil {
		return out
	}
	for name, rg := range gz.OutboundGateways {
		if rg != nil && rg.Connection != nil {
			out[name] = true
		}
	}
	if outboundOnly {
		return out
	}
	for name, list := range gz.InboundGateways {
		out[name] = out[name] || len(list) > 0
	}
	return out
}

// Shutdown closes the connection and stops the server.
func (g *Gateway) Shutdown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	g.conn.Close()
	g.ns.Shutdown()
}

// natsLogger passes NATS's warnings and errors on.
type natsLogger struct {
	log *slog.Logger
	// verifiesItself is set when the gateways' TLS verifies the other end
	// in its own VerifyConnection: NATS, seeing InsecureSkipVerify, would
	// warn that it does not.
	verifiesItself bool
	// repeats holds back a message logged less than a minute ago.
	repeats *repeatFilter
}

// repeatEvery is how often one kind of gateway message is logged: NATS
// retries a refused gateway (a wrong certificate, say) about every
// second, and says so each time.
const repeatEvery = time.Minute

// gatewayConnPrefix is how NATS starts a message about one connection:
// its remote address and its id, which change on every retry.
var gatewayConnPrefix = regexp.MustCompile(`^\S+ - [a-z]+:\d+ - `)

// repeatFilter lets a message through once per repeatEvery, judged
// without its connection prefix, and says how many it held back.
type repeatFilter struct {
	mu   sync.Mutex
	seen map[string]*repeated
	now  func() time.Time
}

type repeated struct {
	logged time.Time
	held   int
}

// pass reports whether msg is to be logged, with a note of how many like
// it were held back since it last was.
func (f *repeatFilter) pass(msg string) (bool, string) {
	if f == nil {
		return true, ""
	}
	key := gatewayConnPrefix.ReplaceAllString(msg, "")
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.seen[key]
	if r != nil && now.Sub(r.logged) < repeatEvery {
		r.held++
		return false, ""
	}
	note := ""
	if r != nil && r.held > 0 {
		note = fmt.Sprintf(" (and %d more like it in the last %v)", r.held, now.Sub(r.logged).Round(time.Second))
	}
	if len(f.seen) >= 1024 {
		clear(f.seen) // bounded: messages naming many peers cannot grow it
	}
	f.seen[key] = &repeated{logged: now}
	return true, note
}

func (l natsLogger) warn(msg string) {
	if ok, note := l.repeats.pass(msg); ok {
		l.log.Warn(msg + note)
	}
}

// natsInsecureWarning starts the warning NATS gives for a gateway TLS
// with InsecureSkipVerify.
const natsInsecureWarning = "TLS certificate chain and hostname of solicited gateways will not be verified"

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if l.verifiesItself && strings.HasPrefix(msg, natsInsecureWarning) {
		return
	}
	l.warn(msg)
}
func (l natsLogger) Errorf(format string, v ...any) { l.warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any) {}
func (l natsLogger) Tracef(format string, v ...any) {}
