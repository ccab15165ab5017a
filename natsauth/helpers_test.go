package natsauth

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/watch"
)

const dc = "dc1"

// rulesAuthorizer decides by rules as Consul does (an exact rule beats a
// prefix rule, the longest prefix wins, then the fallback), so that tests
// can build tokens from rules directly.
type rulesAuthorizer struct {
	rules    *acl.Rules
	fallback acl.Authorizer
}

func (a rulesAuthorizer) decide(r acl.Resource, name string) (acl.Access, bool) {
	if !r.Segmented() {
		access, ok := a.rules.Single[r]
		return access, ok
	}
	if access, ok := a.rules.Exact[r][name]; ok {
		return access, true
	}
	best, found := "", false
	var access acl.Access
	for prefix, acc := range a.rules.Prefix[r] {
		if strings.HasPrefix(name, prefix) && (!found || len(prefix) > len(best)) {
			best, found, access = prefix, true, acc
		}
	}
	return access, found
}

func (a rulesAuthorizer) Allowed(r acl.Resource, name string, need acl.Access) bool {
	access, ok := a.decide(r, name)
	if !ok {
		return a.fallback.Allowed(r, name, need)
	}
	return access >= need
}

func (a rulesAuthorizer) AllowedPrefix(r acl.Resource, prefix string, need acl.Access) bool {
	if !a.Allowed(r, prefix, need) {
		return false
	}
	for _, m := range []map[string]acl.Access{a.rules.Exact[r], a.rules.Prefix[r]} {
		for name, access := range m {
			if strings.HasPrefix(name, prefix) && access < need {
				return false
			}
		}
	}
	return true
}

func (a rulesAuthorizer) MergedRules() (*acl.Rules, acl.Authorizer) { return a.rules, a.fallback }

// rule is one rule of a test policy.
type rule struct {
	r      acl.Resource
	name   string
	prefix bool
	access acl.Access
}

func prefixRule(r acl.Resource, name string, access acl.Access) rule {
	return rule{r: r, name: name, prefix: true, access: access}
}

func exactRule(r acl.Resource, name string, access acl.Access) rule {
	return rule{r: r, name: name, access: access}
}

// authorizer is a default-deny authorizer of rules.
func authorizer(rules ...rule) acl.Authorizer {
	rs := &acl.Rules{Exact: map[acl.Resource]map[string]acl.Access{}, Prefix: map[acl.Resource]map[string]acl.Access{},
		Single: map[acl.Resource]acl.Access{}}
	for _, r := range rules {
		m := rs.Exact
		if r.prefix {
			m = rs.Prefix
		}
		switch {
		case !r.r.Segmented():
			rs.Single[r.r] = r.access
		default:
			if m[r.r] == nil {
				m[r.r] = map[string]acl.Access{}
			}
			m[r.r][r.name] = r.access
		}
	}
	return rulesAuthorizer{rules: rs, fallback: acl.DenyAll()}
}

// testResolver resolves the secrets it was given and says when they change.
type testResolver struct {
	mu      sync.Mutex
	ids     map[string]acl.Identity
	changed chan struct{}
}

func newResolver() *testResolver {
	return &testResolver{ids: map[string]acl.Identity{}, changed: make(chan struct{})}
}

func (r *testResolver) Resolve(secret string) (acl.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.ids[secret]
	if !ok {
		return acl.Identity{}, acl.ErrNotFound
	}
	return id, nil
}

func (r *testResolver) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// set makes secret resolve to a token with authz (nil: delete it).
func (r *testResolver) set(secret string, authz acl.Authorizer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if authz == nil {
		delete(r.ids, secret)
	} else {
		r.ids[secret] = acl.Identity{AccessorID: "accessor-" + secret, SecretID: secret, Authorizer: authz}
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// pollingResolver hides testResolver's Changed, as a resolver that cannot
// notify.
type pollingResolver struct{ r *testResolver }

func (p pollingResolver) Resolve(secret string) (acl.Identity, error) { return p.r.Resolve(secret) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testServer is an embedded NATS server with ACLs.
type testServer struct {
	auth     *Authenticator
	srv      *watch.EmbeddedServer
	internal *nats.Conn // the process's own connection
}

func startServer(t *testing.T, resolver acl.Resolver) *testServer {
	t.Helper()
	auth, err := New(Config{Datacenter: dc, Resolver: resolver, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := watch.StartServer(watch.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(),
		Logger: quietLogger(), ClientAuth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); auth.Close() })
	ts := &testServer{auth: auth, srv: srv}
	ts.internal = ts.connect(t, auth.InternalOption())
	return ts
}

// client is a NATS connection that records the asynchronous errors the
// server sends it (permission violations).
type client struct {
	*nats.Conn
	errs chan error
}

func (ts *testServer) connect(t *testing.T, opts ...nats.Option) *nats.Conn {
	t.Helper()
	c, err := ts.dial(opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c.Conn
}

func (ts *testServer) dial(opts ...nats.Option) (*client, error) {
	c := &client{errs: make(chan error, 16)}
	opts = append([]nats.Option{nats.Timeout(5 * time.Second), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case c.errs <- err:
		default:
		}
	})}, opts...)
	nc, err := nats.Connect(ts.srv.ClientURL(), opts...)
	if err != nil {
		return nil, err
	}
	c.Conn = nc
	return c, nil
}

// user connects with a token, and no reconnects so a closed connection
// stays closed.
func (ts *testServer) user(t *testing.T, secret string, opts ...nats.Option) *client {
	t.Helper()
	c, err := ts.dial(append([]nats.Option{nats.Token(secret), nats.NoReconnect()}, opts...)...)
	if err != nil {
		t.Fatalf("connect with token %s: %v", secret, err)
	}
	t.Cleanup(c.Close)
	return c
}

// subscribe subscribes and waits until the server has the subscription (or
// refused it).
func (c *client) subscribe(t *testing.T, subject string) *nats.Subscription {
	t.Helper()
	sub, err := c.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// expectViolation waits for the server's permissions violation naming
// subject.
func (c *client) expectViolation(t *testing.T, subject string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-c.errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject) {
				return
			}
		case <-deadline:
			t.Fatalf("no permissions violation for %s", subject)
		}
	}
}

// noViolation fails if the server has reported a violation so far (after
// a round trip, so any earlier refusal has arrived).
func (c *client) noViolation(t *testing.T) {
	t.Helper()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.errs:
		t.Fatalf("unexpected error: %v", err)
	default:
	}
}

// receive returns the next message's subject.
func receive(t *testing.T, sub *nats.Subscription) string {
	t.Helper()
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("%s: no message: %v", sub.Subject, err)
	}
	return m.Subject
}

func (ts *testServer) publish(t *testing.T, subjects ...string) {
	t.Helper()
	for _, s := range subjects {
		if err := ts.internal.Publish(s, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.internal.Flush(); err != nil {
		t.Fatal(err)
	}
}
