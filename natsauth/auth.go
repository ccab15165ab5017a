package natsauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
)

// AgentUserPrefix starts the NATS user name a client agent connects with:
// "herald-agent:<node name>", its agent token as the password.
const AgentUserPrefix = "herald-agent:"

// AgentUser is the NATS user name of the client agent of node.
func AgentUser(node string) string { return AgentUserPrefix + node }

// recheckInterval is how often connections are checked again when the
// resolver cannot say when identities change.
const recheckInterval = time.Second

// Config configures an Authenticator.
type Config struct {
	// Datacenter is the one whose subjects the server carries.
	Datacenter string
	// Resolver resolves the tokens clients present. If it is also an
	// acl.ChangeNotifier, connections are checked again at each change;
	// otherwise every second.
	Resolver acl.Resolver
	Logger   *slog.Logger
}

// Authenticator admits the embedded NATS server's clients by their Herald
// token and gives each the permissions its rules grant (watch.ClientAuth).
// It also holds the secret of this process's own connections.
type Authenticator struct {
	cfg      Config
	log      *slog.Logger
	internal string // this process's own connections' secret

	mu sync.Mutex
	// conns are the admitted token connections, by client ID, for the
	// checks after an identity changed; the process's own are not
	// tracked.
	conns map[uint64]*tracked
	srv   *server.Server
	// generation counts the rechecks begun; Check compares it before and
	// after resolving, so a change it raced with is not missed.
	generation atomic.Uint64
	recheck    chan struct{} // a recheck is wanted now

	cancel context.CancelFunc
	done   chan struct{}
}

// tracked is one admitted connection.
type tracked struct {
	user, secret string
	accessorID   string
	grants       string // the permissions it was given, as grantKey
}

// New returns an authenticator with a fresh secret for this process's own
// connections.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("natsauth: no resolver")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("natsauth: internal secret: %w", err)
	}
	return &Authenticator{cfg: cfg, log: cfg.Logger.With("component", "nats-auth"), internal: hex.EncodeToString(b),
		conns: map[uint64]*tracked{}, recheck: make(chan struct{}, 1)}, nil
}

// InternalOption is the connection option of this process's own
// connections to its embedded server (the publishers, the RPC servers, the
// user events): a secret that exists only in this process's memory and
// grants everything. It is never written anywhere; only connections made
// in this process can present it.
func (a *Authenticator) InternalOption() nats.Option { return nats.Token(a.internal) }

// Check admits a client or refuses it (server.Authentication). The token
// is the connection's auth_token, or else its password, under any user
// name but the agents' (AgentUserPrefix), which also needs node:write on
// the node it names.
func (a *Authenticator) Check(c server.ClientAuthentication) bool {
	opts := c.GetOpts()
	secret := opts.Token
	if secret == "" {
		secret = opts.Password
	}
	if secret == "" {
		a.log.Debug("refused a NATS connection without a token", "remote", addr(c))
		return false
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(a.internal)) == 1 {
		c.RegisterUser(&server.User{Username: "herald-internal"})
		return true
	}
	gen := a.generation.Load()
	id, perms, err := a.permissions(opts.Username, secret)
	if err != nil {
		a.log.Info("refused a NATS connection", "remote", addr(c), "user", opts.Username, "reason", err)
		return false
	}
	c.RegisterUser(&server.User{Username: id.AccessorID, Permissions: perms})
	a.track(c.GetID(), &tracked{user: opts.Username, secret: secret, accessorID: id.AccessorID, grants: grantKey(perms)})
	if a.generation.Load() != gen {
		a.wantRecheck()
	}
	return true
}

// permissions resolves secret and works out what a connection presenting it
// as user may do.
func (a *Authenticator) permissions(user, secret string) (acl.Identity, *server.Permissions, error) {
	id, err := a.cfg.Resolver.Resolve(secret)
	if err != nil {
		return acl.Identity{}, nil, err
	}
	authz := id.Authorizer
	if authz == nil {
		authz = acl.DenyAll()
	}
	if node, ok := strings.CutPrefix(user, AgentUserPrefix); ok {
		if !authz.Allowed(acl.ResourceNode, node, acl.Write) {
			return id, nil, &acl.PermissionDeniedError{AccessorID: id.AccessorID, Resource: acl.ResourceNode,
				Access: acl.Write, Name: node}
		}
		return id, trustedPermissions(a.cfg.Datacenter), nil
	}
	if authz.Allowed(acl.ResourceACL, "", acl.Write) {
		return id, trustedPermissions(a.cfg.Datacenter), nil
	}
	return id, userPermissions(a.cfg.Datacenter, authz), nil
}

// track remembers an admitted connection. Connections that closed are
// forgotten at the next recheck, or here once they have piled up.
func (a *Authenticator) track(cid uint64, t *tracked) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conns[cid] = t
	if a.srv != nil && len(a.conns) > 2*a.srv.NumClients()+64 {
		a.forgetClosedLocked()
	}
}

// forgetClosedLocked drops the connections the server no longer has.
func (a *Authenticator) forgetClosedLocked() {
	connz, err := a.srv.Connz(&server.ConnzOptions{Limit: len(a.conns) + a.srv.NumClients()})
	if err != nil {
		return
	}
	open := make(map[uint64]bool, len(connz.Conns))
	for _, ci := range connz.Conns {
		open[ci.Cid] = true
	}
	for cid := range a.conns {
		if !open[cid] {
			delete(a.conns, cid)
		}
	}
}

// Attach starts following identity changes on s (watch.ClientAuth). An
// Authenticator serves one server: a second Attach is ignored.
func (a *Authenticator) Attach(s *server.Server) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv != nil {
		return
	}
	a.srv = s
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	go a.follow(ctx)
	go func() {
		s.WaitForShutdown()
		cancel()
	}()
}

// Close stops following identity changes; the server's shutdown does too.
func (a *Authenticator) Close() {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (a *Authenticator) wantRecheck() {
	select {
	case a.recheck <- struct{}{}:
	default:
	}
}

// follow checks every connection again at each identity change, or every
// recheckInterval when the resolver cannot notify.
func (a *Authenticator) follow(ctx context.Context) {
	defer close(a.done)
	notifier, notifies := a.cfg.Resolver.(acl.ChangeNotifier)
	var ticker <-chan time.Time
	if !notifies {
		t := time.NewTicker(recheckInterval)
		defer t.Stop()
		ticker = t.C
	}
	var changed <-chan struct{}
	if notifies {
		changed = notifier.Changed()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			changed = notifier.Changed()
		case <-ticker:
		case <-a.recheck:
		}
		a.recheckAll()
	}
}

// recheckAll resolves every connection's token again and closes those
// whose token no longer resolves or now grants something else: a client
// that reconnects gets its new permissions, or is refused.
func (a *Authenticator) recheckAll() {
	a.generation.Add(1)
	a.mu.Lock()
	a.forgetClosedLocked()
	srv := a.srv
	conns := make(map[uint64]*tracked, len(a.conns))
	for cid, t := range a.conns {
		conns[cid] = t
	}
	a.mu.Unlock()
	for cid, t := range conns {
		_, perms, err := a.permissions(t.user, t.secret)
		reason := ""
		switch {
		case err != nil:
			reason = err.Error()
		case grantKey(perms) != t.grants:
			reason = "its token's permissions changed"
		default:
			continue
		}
		a.mu.Lock()
		delete(a.conns, cid)
		a.mu.Unlock()
		if srv.DisconnectClientByID(cid) == nil {
			a.log.Info("closed a NATS connection", "accessor_id", t.accessorID, "cid", cid, "reason", reason)
		}
	}
}

// grantKey is a comparable form of permissions (whose lists are sorted).
func grantKey(p *server.Permissions) string {
	if p == nil {
		return "all"
	}
	var b strings.Builder
	for _, sp := range []*server.SubjectPermission{p.Publish, p.Subscribe} {
		b.WriteString("|allow:")
		b.WriteString(strings.Join(sp.Allow, " "))
		b.WriteString("|deny:")
		b.WriteString(strings.Join(sp.Deny, " "))
	}
	return b.String()
}

func addr(c server.ClientAuthentication) string {
	if a := c.RemoteAddress(); a != nil {
		return a.String()
	}
	return ""
}
