package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// A secondary datacenter resolves a token from its replicated ACL state;
// a token that state lacks (not replicated yet, or acl.enable_token_
// replication off) is asked of the primary, as Consul's secondaries do,
// and kept for acl.token_ttl. When the primary cannot be reached,
// acl.down_policy decides (docs/security.md): allow (everything but ACL
// management), deny, extend-cache (the kept answer however old, else
// deny; the default) or async-cache (extend-cache that answers from the
// kept answer at once while it asks the primary again in the background).

// Down policies beyond config's allow and deny.
const (
	downPolicyExtendCache = "extend-cache"
	downPolicyAsyncCache  = "async-cache"
)

// defaultTokenTTL is acl.token_ttl's default, as Consul's.
const defaultTokenTTL = 30 * time.Second

// remoteTokenTimeout bounds a token lookup at the primary: the request
// waits for it.
const remoteTokenTimeout = 3 * time.Second

// errPrimaryDown is a lookup that did not reach the primary.
var errPrimaryDown = errors.New("the primary datacenter cannot be reached")

// remoteResolver is the resolver of a secondary datacenter's agents.
type remoteResolver struct {
	local *projections.ACL
	// fetch asks the primary for a secret's token: acl.ErrNotFound when it
	// has none, errPrimaryDown when it cannot be asked.
	fetch      func(secret string) (*event.ACLToken, error)
	downPolicy string
	ttl        time.Duration
	now        func() time.Time
	log        *slog.Logger

	mu    sync.Mutex
	cache map[string]*remoteToken // by SecretHash
}

// remoteToken is a primary's answer for a secret, kept.
type remoteToken struct {
	token      *event.ACLToken // nil: the primary has no such token
	fetched    time.Time
	refreshing bool
}

// aclResolver is the resolver of the HTTP API, DNS, RPC and NATS: the
// projection, or on a secondary datacenter the projection with the
// primary behind it (one for all, so they share what they keep).
func (a *Agent) aclResolver() acl.Resolver {
	if !a.aclSecondary() {
		return a.acl
	}
	if a.aclRemote != nil {
		return a.aclRemote
	}
	ttl := a.cfg.ACL.TokenTTL
	if ttl <= 0 {
		ttl = defaultTokenTTL
	}
	policy := a.cfg.ACL.DownPolicy
	if policy == "" {
		policy = downPolicyExtendCache
	}
	a.aclRemote = &remoteResolver{local: a.acl, fetch: a.primaryToken, downPolicy: policy, ttl: ttl, now: time.Now,
		log: a.log.With("component", "acl"), cache: map[string]*remoteToken{}}
	return a.aclRemote
}

// primaryToken asks the primary for the token of secret
// (/v1/acl/token/self, with the secret as the request's token).
func (a *Agent) primaryToken(secret string) (*event.ACLToken, error) {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTokenTimeout)
	defer cancel()
	resp := a.forwardHTTP(ctx, &wan.HTTPRequest{Datacenter: a.cfg.WAN.PrimaryDatacenter, Method: http.MethodGet,
		URL: "/v1/acl/token/self", Header: http.Header{"X-Consul-Token": {secret}}, Timeout: remoteTokenTimeout})
	switch {
	case resp.Status == http.StatusOK:
		var t remoteACLToken
		if err := json.Unmarshal(resp.Body, &t); err != nil {
			return nil, fmt.Errorf("%w: %v", errPrimaryDown, err)
		}
		rec := t.record()
		rec.Token.Local = t.Local
		rec.Token.SecretHash = acl.HashSecret(secret)
		rec.Token.Policies, rec.Token.Roles = linkIDs(rec.Token.Policies), linkIDs(rec.Token.Roles)
		return &rec.Token, nil
	case resp.Status == http.StatusForbidden && strings.Contains(string(resp.Body), acl.ErrNotFound.Error()):
		return nil, acl.ErrNotFound
	}
	return nil, fmt.Errorf("%w: %d %s", errPrimaryDown, resp.Status, strings.TrimSpace(string(resp.Body)))
}

// Resolve implements acl.Resolver.
func (r *remoteResolver) Resolve(secret string) (acl.Identity, error) {
	id, err := r.local.Resolve(secret)
	if secret == "" || !errors.Is(err, acl.ErrNotFound) {
		return id, err
	}
	key := acl.HashSecret(secret)
	now := r.now()
	r.mu.Lock()
	kept := r.cache[key]
	switch {
	case kept != nil && now.Sub(kept.fetched) < r.ttl:
		r.mu.Unlock()
		return r.identity(kept.token, secret)
	case kept != nil && r.downPolicy == downPolicyAsyncCache:
		if !kept.refreshing {
			kept.refreshing = true
			go r.refresh(key, secret)
		}
		r.mu.Unlock()
		return r.identity(kept.token, secret)
	}
	r.mu.Unlock()

	t, err := r.fetch(secret)
	if err == nil || errors.Is(err, acl.ErrNotFound) {
		r.keep(key, t)
		return r.identity(t, secret)
	}
	r.log.Warn("cannot resolve a token at the primary datacenter; applying the down policy", "down_policy", r.downPolicy, "error", err)
	switch r.downPolicy {
	case config.ACLPolicyAllow:
		return acl.Identity{SecretID: secret, Authorizer: acl.DefaultAllow()}, nil
	case config.ACLPolicyDeny:
		return acl.Identity{SecretID: secret, Authorizer: acl.DenyAll()}, nil
	}
	if kept != nil {
		return r.identity(kept.token, secret)
	}
	return acl.Identity{SecretID: secret, Authorizer: acl.DenyAll()}, nil
}

// refresh asks the primary again for async-cache; a failure keeps the
// kept answer.
func (r *remoteResolver) refresh(key, secret string) {
	t, err := r.fetch(secret)
	if err == nil || errors.Is(err, acl.ErrNotFound) {
		r.keep(key, t)
		return
	}
	r.mu.Lock()
	if kept := r.cache[key]; kept != nil {
		kept.refreshing = false
	}
	r.mu.Unlock()
}

// maxKeptTokens bounds the kept answers: past it, expired ones go, and
// then all, so that a stream of made-up secrets cannot grow it.
const maxKeptTokens = 4096

func (r *remoteResolver) keep(key string, t *event.ACLToken) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxKeptTokens {
		now := r.now()
		for k, e := range r.cache {
			if now.Sub(e.fetched) >= r.ttl {
				delete(r.cache, k)
			}
		}
		if len(r.cache) >= maxKeptTokens {
			clear(r.cache)
		}
	}
	r.cache[key] = &remoteToken{token: t, fetched: r.now()}
}

// identity is the identity of a token the primary answered; nil is
// acl.ErrNotFound.
func (r *remoteResolver) identity(t *event.ACLToken, secret string) (acl.Identity, error) {
	if t == nil || (t.ExpirationTime != 0 && t.ExpirationTime <= r.now().UnixNano()) {
		return acl.Identity{}, acl.ErrNotFound
	}
	return acl.Identity{AccessorID: t.AccessorID, SecretID: secret, Authorizer: r.local.AuthorizerFor(t)}, nil
}

// Changed passes on the projection's change notifications
// (acl.ChangeNotifier).
func (r *remoteResolver) Changed() <-chan struct{} { return r.local.Changed() }

// DefaultPolicy and Index pass on the projection's, which the HTTP API's
// headers and the DNS interface's kept answers read of a resolver.
func (r *remoteResolver) DefaultPolicy() string { return r.local.DefaultPolicy() }
func (r *remoteResolver) Index() uint64         { return r.local.Index() }
