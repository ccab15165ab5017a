package projections

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
)

// ACL is the read model of the system shard, on servers and client agents
// alike, and the agent's acl.Resolver. It knows tokens by AccessorID and by
// SecretHash, never by SecretID: what it loads from a state or a snapshot
// and what the event stream brings carry only hashes, and a presented
// secret is hashed to be looked up.
//
// Resolving a token compiles the rules of its policies, its roles'
// policies and its identities once; the authorizer is kept per token until
// an event changes the token (dropped) or any policy or role (every kept
// authorizer dropped: those changes are rare, and a token's links to them
// need no index). A revoked token or a changed policy therefore takes
// effect on an agent as soon as the event reaches it.
//
// Down policy: an agent that lost its servers keeps its projection and
// answers from it; an agent never lacks anything the servers had sent it.
// acl.down_policy applies to the tokens a secondary datacenter's state
// lacks, which its agents ask the primary for (agent/acldown.go).
type ACL struct {
	cfg ACLConfig

	mu       sync.RWMutex
	index    uint64
	tokens   map[string]*event.ACLToken // lower-case AccessorID
	byHash   map[string]*event.ACLToken // SecretHash
	policies map[string]*event.ACLPolicy
	roles    map[string]*event.ACLRole
	// rules caches each policy's parsed rules (nil: it does not parse).
	rules map[string]*acl.Rules
	// authorizers are the compiled authorizers, by lower-case AccessorID.
	authorizers map[string]acl.Authorizer
	watch       notifier
}

// ACLConfig is what resolving a token needs of the agent.
type ACLConfig struct {
	// DefaultPolicy is "allow" or "deny": what no rule decides.
	DefaultPolicy string
	// Datacenter limits service identities with datacenters and node
	// identities to this one.
	Datacenter string
	// NodeName is the node the agent recovery token may write as agent.
	NodeName string
	// Token returns the agent's token of a kind (agent/tokens' names):
	// "default" for requests without one, "agent_recovery". Nil: none.
	Token func(kind string) string
	// Now tells expired tokens; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// AgentRecoveryAccessorID is the accessor of the agent recovery token's
// identity: it has no token record.
const AgentRecoveryAccessorID = "agent-recovery"

const aclWatchName = "acl"

// NewACL returns an empty ACL projection.
func NewACL(cfg ACLConfig) *ACL {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &ACL{cfg: cfg, watch: notifier{}}
	a.reset()
	return a
}

func (a *ACL) reset() {
	a.tokens, a.byHash = map[string]*event.ACLToken{}, map[string]*event.ACLToken{}
	a.policies, a.roles = map[string]*event.ACLPolicy{}, map[string]*event.ACLRole{}
	a.rules, a.authorizers = map[string]*acl.Rules{}, map[string]acl.Authorizer{}
}

// Load replaces the state with src's, read at index; a source without ACL
// state (an older build's) leaves it empty.
func (a *ACL) Load(index uint64, src event.Source) error {
	fresh := &ACL{}
	fresh.reset()
	if s, ok := src.(event.ACLSource); ok {
		err := s.ScanACL(func(t *event.ACLToken) error {
			fresh.putToken(t)
			return nil
		}, func(p *event.ACLPolicy) error {
			fresh.policies[lower(p.ID)] = p
			return nil
		}, func(r *event.ACLRole) error {
			fresh.roles[lower(r.ID)] = r
			return nil
		})
		if err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens, a.byHash, a.policies, a.roles = fresh.tokens, fresh.byHash, fresh.policies, fresh.roles
	a.rules, a.authorizers = map[string]*acl.Rules{}, map[string]acl.Authorizer{}
	a.index = index
	a.watch.fireAll()
	return nil
}

func (a *ACL) putToken(t *event.ACLToken) {
	if old := a.tokens[lower(t.AccessorID)]; old != nil {
		delete(a.byHash, old.SecretHash)
	}
	a.tokens[lower(t.AccessorID)] = t
	a.byHash[t.SecretHash] = t
}

// Apply takes the ACL changes among one index's events.
func (a *ACL) Apply(index uint64, events []event.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := false
	for _, ev := range events {
		switch {
		case ev.Type == event.StateRestored:
			// The state machine reloads the projection after a restore.
		case ev.ACLToken != nil:
			t := ev.ACLToken
			delete(a.authorizers, lower(t.AccessorID))
			if ev.Type == event.ACLTokenDeleted {
				if old := a.tokens[lower(t.AccessorID)]; old != nil {
					delete(a.byHash, old.SecretHash)
					delete(a.tokens, lower(t.AccessorID))
				}
			} else {
				a.putToken(t)
			}
		case ev.ACLPolicy != nil:
			p := ev.ACLPolicy
			delete(a.rules, lower(p.ID))
			if ev.Type == event.ACLPolicyDeleted {
				delete(a.policies, lower(p.ID))
			} else {
				a.policies[lower(p.ID)] = p
			}
			clear(a.authorizers)
		case ev.ACLRole != nil:
			r := ev.ACLRole
			if ev.Type == event.ACLRoleDeleted {
				delete(a.roles, lower(r.ID))
			} else {
				a.roles[lower(r.ID)] = r
			}
			clear(a.authorizers)
		default:
			if ev.Type != event.ACLBootstrapped {
				continue
			}
		}
		changed = true
	}
	if changed {
		a.index = index
		a.watch.fireAll()
	}
}

var _ acl.Resolver = (*ACL)(nil)

// Resolve implements acl.Resolver.
func (a *ACL) Resolve(secret string) (acl.Identity, error) {
	presented := secret
	if secret == "" && a.cfg.Token != nil {
		secret = a.cfg.Token("default")
	}
	if secret != "" && a.cfg.Token != nil && secret == a.cfg.Token("agent_recovery") {
		return acl.Identity{AccessorID: AgentRecoveryAccessorID, SecretID: presented,
			Authorizer: agentRecoveryAuthorizer{node: a.cfg.NodeName}}, nil
	}
	now := a.cfg.Now().UnixNano()
	a.mu.RLock()
	var t *event.ACLToken
	if secret == "" {
		t = a.tokens[lower(acl.AnonymousTokenID)]
	} else {
		t = a.byHash[acl.HashSecret(secret)]
	}
	if t == nil && secret == "" {
		// Before the servers made the anonymous token (a cluster's first
		// seconds with ACLs on), no token is the default policy.
		a.mu.RUnlock()
		return acl.Identity{AccessorID: acl.AnonymousTokenID, Authorizer: a.fallback()}, nil
	}
	if t == nil || expired(t, now) {
		a.mu.RUnlock()
		return acl.Identity{}, acl.ErrNotFound
	}
	authz, ok := a.authorizers[lower(t.AccessorID)]
	a.mu.RUnlock()
	if !ok {
		a.mu.Lock()
		// Compiled under the write lock: the links read are current, and
		// no event can drop the authorizer between its making and its
		// keeping.
		if t = a.tokens[lower(t.AccessorID)]; t == nil {
			a.mu.Unlock()
			return acl.Identity{}, acl.ErrNotFound
		}
		authz = a.compile(t)
		a.authorizers[lower(t.AccessorID)] = authz
		a.mu.Unlock()
	}
	// The secret resolved, the default token's for none presented: a
	// client agent forwards it with the writes it sends to the servers,
	// which then judge them as this agent did.
	return acl.Identity{AccessorID: t.AccessorID, SecretID: secret, Authorizer: authz}, nil
}

func expired(t *event.ACLToken, now int64) bool {
	return t.ExpirationTime != 0 && t.ExpirationTime <= now
}

// compile is t's authorizer; the caller holds the write lock.
// fallback is the default policy's authorizer.
func (a *ACL) fallback() acl.Authorizer {
	if a.cfg.DefaultPolicy == "deny" {
		return acl.DenyAll()
	}
	return acl.DefaultAllow()
}

func (a *ACL) compile(t *event.ACLToken) acl.Authorizer {
	fallback := a.fallback()
	var rules []*acl.Rules
	management := false
	addPolicies := func(links []event.ACLLink) {
		for _, l := range links {
			if strings.EqualFold(l.ID, acl.GlobalManagementPolicyID) {
				management = true
				continue
			}
			p := a.policies[lower(l.ID)]
			if p == nil || !a.appliesHere(p.Datacenters) {
				continue
			}
			if r := a.parsed(p); r != nil {
				rules = append(rules, r)
			}
		}
	}
	addIdentities := func(svc []event.ACLServiceIdentity, nodes []event.ACLNodeIdentity) {
		for _, s := range svc {
			if a.appliesHere(s.Datacenters) {
				rules = append(rules, acl.ServiceIdentityRules(s.ServiceName))
			}
		}
		for _, n := range nodes {
			if n.Datacenter == a.cfg.Datacenter {
				rules = append(rules, acl.NodeIdentityRules(n.NodeName))
			}
		}
	}
	addPolicies(t.Policies)
	addIdentities(t.ServiceIdentities, t.NodeIdentities)
	for _, l := range t.Roles {
		if r := a.roles[lower(l.ID)]; r != nil {
			addPolicies(r.Policies)
			addIdentities(r.ServiceIdentities, r.NodeIdentities)
		}
	}
	if management {
		return acl.ManageAll()
	}
	return acl.Compile(fallback, rules...)
}

func (a *ACL) appliesHere(datacenters []string) bool {
	return len(datacenters) == 0 || slices.Contains(datacenters, a.cfg.Datacenter)
}

// parsed is p's rules, parsed once; nil when they do not parse (the
// proposer checked them, so only a build whose parser differs sees that).
func (a *ACL) parsed(p *event.ACLPolicy) *acl.Rules {
	if r, ok := a.rules[lower(p.ID)]; ok {
		return r
	}
	r, err := acl.Parse(p.Rules)
	if err != nil {
		a.cfg.Logger.Warn("ACL policy does not parse; its rules grant nothing", "policy", p.Name, "error", err)
		r = nil
	}
	a.rules[lower(p.ID)] = r
	return r
}

// agentRecoveryAuthorizer is the agent recovery token's: agent:write on
// this agent's node, and read on every node, as in Consul.
type agentRecoveryAuthorizer struct{ node string }

func (r agentRecoveryAuthorizer) Allowed(res acl.Resource, name string, need acl.Access) bool {
	switch res {
	case acl.ResourceAgent:
		return strings.EqualFold(name, r.node)
	case acl.ResourceNode:
		return need == acl.Read
	}
	return false
}

func (r agentRecoveryAuthorizer) AllowedPrefix(res acl.Resource, prefix string, need acl.Access) bool {
	return res == acl.ResourceNode && need == acl.Read
}

// ACLView is a consistent read of the ACL state. Its records are shared:
// never modify them.
type ACLView struct {
	a   *ACL
	now int64
}

// Read calls fn with the state, under the projection's lock (fn must not
// block), and returns the index and, with watch, a channel closed at the
// next change.
func (a *ACL) Read(watch bool, fn func(ACLView)) (uint64, <-chan struct{}) {
	if watch {
		a.mu.Lock()
		defer a.mu.Unlock()
		fn(ACLView{a, a.cfg.Now().UnixNano()})
		return a.index, a.watch.watch(aclWatchName)
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	fn(ACLView{a, a.cfg.Now().UnixNano()})
	return a.index, nil
}

// Changed implements acl.ChangeNotifier: a channel closed at the next ACL
// change, which the NATS server's permissions follow.
func (a *ACL) Changed() <-chan struct{} {
	_, ch := a.Read(true, func(ACLView) {})
	return ch
}

// DefaultPolicy is the default policy, "allow" or "deny", which the HTTP API
// reports in X-Consul-Default-ACL-Policy.
func (a *ACL) DefaultPolicy() string {
	if a.cfg.DefaultPolicy == "deny" {
		return "deny"
	}
	return "allow"
}

// Index is the index of the last ACL change.
func (a *ACL) Index() uint64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.index
}

// Token is the token with that AccessorID, nil when there is none or it
// expired.
func (v ACLView) Token(accessor string) *event.ACLToken {
	t := v.a.tokens[lower(accessor)]
	if t == nil || expired(t, v.now) {
		return nil
	}
	return t
}

// TokenBySecret is the token a secret belongs to, as Token.
func (v ACLView) TokenBySecret(secret string) *event.ACLToken {
	t := v.a.byHash[acl.HashSecret(secret)]
	if t == nil || expired(t, v.now) {
		return nil
	}
	return t
}

// Tokens lists the tokens that have not expired, by AccessorID.
func (v ACLView) Tokens() []*event.ACLToken {
	out := make([]*event.ACLToken, 0, len(v.a.tokens))
	for _, t := range v.a.tokens {
		if !expired(t, v.now) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(x, y *event.ACLToken) int { return strings.Compare(x.AccessorID, y.AccessorID) })
	return out
}

// ExpiredTokens lists the tokens whose expiration time has passed, which
// every other read hides, for the leader that deletes them.
func (v ACLView) ExpiredTokens() []*event.ACLToken {
	var out []*event.ACLToken
	for _, t := range v.a.tokens {
		if expired(t, v.now) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(x, y *event.ACLToken) int { return strings.Compare(x.AccessorID, y.AccessorID) })
	return out
}

// Policy is the policy with that ID, nil when there is none.
func (v ACLView) Policy(id string) *event.ACLPolicy { return v.a.policies[lower(id)] }

// PolicyByName is the policy of that name (any case), nil when none.
func (v ACLView) PolicyByName(name string) *event.ACLPolicy {
	return byName(v.a.policies, name, func(p *event.ACLPolicy) string { return p.Name })
}

// Policies lists the policies by name.
func (v ACLView) Policies() []*event.ACLPolicy {
	return sortedByName(v.a.policies, func(p *event.ACLPolicy) string { return p.Name })
}

// Role is the role with that ID, nil when there is none.
func (v ACLView) Role(id string) *event.ACLRole { return v.a.roles[lower(id)] }

// RoleByName is the role of that name (any case), nil when none.
func (v ACLView) RoleByName(name string) *event.ACLRole {
	return byName(v.a.roles, name, func(r *event.ACLRole) string { return r.Name })
}

// Roles lists the roles by name.
func (v ACLView) Roles() []*event.ACLRole {
	return sortedByName(v.a.roles, func(r *event.ACLRole) string { return r.Name })
}

// byName is the record of m whose name (any case) is name, nil when none:
// policies and roles are found by name alike.
func byName[T any](m map[string]*T, name string, nameOf func(*T) string) *T {
	for _, r := range m {
		if strings.EqualFold(nameOf(r), name) {
			return r
		}
	}
	return nil
}

// sortedByName lists the records of m by name.
func sortedByName[T any](m map[string]*T, nameOf func(*T) string) []*T {
	out := make([]*T, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *T) int { return strings.Compare(nameOf(x), nameOf(y)) })
	return out
}

// AuthorizerFor compiles the authorizer of a token this projection does
// not hold (a secondary datacenter resolves such a token at the primary)
// with the policies and roles it holds.
func (a *ACL) AuthorizerFor(t *event.ACLToken) acl.Authorizer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.compile(t)
}
