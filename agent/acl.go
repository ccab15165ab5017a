package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// ACLs: the state is the system shard's; every agent, server or client,
// keeps the ACL projection (fed like the other shards' projections) and
// resolves tokens with it. Servers with ACLs on make the built-in records
// and the initial management token where they lead the system shard.

// newACLProjection makes the ACL projection; the agent's tokens are read
// when a token is resolved, so that /v1/agent/token changes apply at once.
func (a *Agent) newACLProjection() *projections.ACL {
	return projections.NewACL(projections.ACLConfig{
		DefaultPolicy: a.cfg.ACL.DefaultPolicyOrAllow(),
		Datacenter:    a.cfg.Datacenter,
		NodeName:      a.cfg.NodeName,
		Token:         a.token,
		Logger:        a.log.With("component", "acl"),
	})
}

// wireACL turns enforcement on with the agent's own ACL projection when
// acl.enabled is set, unless a test gave the agent a resolver of its own
// (SetACL, SetACLResolver): the HTTP API, DNS, the servers' RPC and the
// embedded NATS server all resolve tokens with it, and the agent's own
// writes go with its agent token.
func (a *Agent) wireACL() {
	if !a.cfg.ACL.Enabled {
		return
	}
	if a.aclEnforce.resolver == nil {
		a.aclEnforce = aclEnforcement{resolver: a.aclResolver(), agent: a.agentTokenIdentity}
	}
	if a.natsACL.resolver == nil {
		a.natsACL.resolver = a.aclResolver()
	}
}

// token is the agent's token of that kind (tokens.Default, ...), "" before
// the token store exists (it is made as the agent starts).
func (a *Agent) token(kind string) string {
	if a.tokens == nil {
		return ""
	}
	return a.tokens.Token(kind)
}

// agentTokenIdentity is the identity of acl.tokens.agent, else of the
// default token (the projection's answer for none), with its secret, which
// a client agent forwards with its writes. A token that does not resolve
// leaves the identity of no token, which the servers refuse, and the sync
// loop retries, as Consul's agent does with a token lacking permission.
func (a *Agent) agentTokenIdentity() acl.Identity {
	if secret := a.token(tokens.Agent); secret != "" {
		var resolver acl.Resolver = a.acl
		if a.aclRemote != nil {
			// A secondary's agent token may be one of the primary's.
			resolver = a.aclRemote
		}
		if id, err := resolver.Resolve(secret); err == nil {
			return id
		}
		return acl.Identity{AccessorID: acl.AnonymousTokenID, SecretID: secret, Authorizer: acl.DenyAll()}
	}
	id, err := a.acl.Resolve("")
	if err != nil {
		return acl.Identity{AccessorID: acl.AnonymousTokenID, Authorizer: acl.DenyAll()}
	}
	return id
}

// startACLInit runs the loop that makes the built-in ACL records where
// this server leads the system shard.
func (a *Agent) startACLInit(ctx context.Context) {
	if !a.cfg.ACL.Enabled || a.host == nil {
		return
	}
	initial := a.cfg.ACL.Tokens["initial_management"]
	if a.aclSecondary() {
		// As in Consul, only the primary makes it; secondaries replicate it.
		initial = ""
	}
	init := leader.ACLInit{Raft: a.host, InitialManagement: initial, Logger: a.log.With("component", "acl"),
		Complete: func(watch bool) (bool, <-chan struct{}) {
			done := false
			_, changed := a.acl.Read(watch, func(v projections.ACLView) {
				done = v.Token(acl.AnonymousTokenID) != nil && v.Policy(acl.GlobalManagementPolicyID) != nil &&
					(initial == "" || v.TokenBySecret(initial) != nil)
			})
			return done, changed
		}}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		init.Run(ctx)
	}()
}

// tokenReapEvery is the token reaper's sweep interval; zero is the
// reaper's default. Tests shorten it.
var tokenReapEvery time.Duration

// startTokenReaper has a server delete expired tokens while it leads the
// system shard (leader.TokenReaper).
func (a *Agent) startTokenReaper(ctx context.Context) {
	if !a.cfg.ACL.Enabled || a.host == nil {
		return
	}
	r := leader.TokenReaper{Raft: a.host, Secondary: a.aclSecondary(), Logger: a.log.With("component", "acl"),
		Every: tokenReapEvery,
		Expired: func() (out []*event.ACLToken) {
			a.acl.Read(false, func(v projections.ACLView) { out = v.ExpiredTokens() })
			return out
		}}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		r.Run(ctx)
	}()
}

// ACLTokenSecret is the SecretID of a token, read from this server's
// replica of the system shard (httpapi.ACLServer).
func (a *Agent) ACLTokenSecret(accessor string) (string, bool, error) {
	sm := a.shards[command.ShardSystem]
	if a.host == nil || sm == nil {
		return "", false, nil
	}
	return sm.ACLTokenSecret(accessor)
}

// aclBootstrapResetFile is Consul's file in the data dir that allows one
// more bootstrap: it holds the reset index a refused bootstrap named.
const aclBootstrapResetFile = "acl-bootstrap-reset"

// ACLBootstrapResetIndex is the reset index in the data dir's
// acl-bootstrap-reset file, 0 when there is none (httpapi.ACLServer).
func (a *Agent) ACLBootstrapResetIndex() uint64 {
	b, err := os.ReadFile(filepath.Join(a.dataDir, aclBootstrapResetFile))
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		a.log.Warn("ignoring the ACL bootstrap reset file: it does not hold an index", "file", aclBootstrapResetFile)
		return 0
	}
	return n
}

// shardsToStart lists the shards a server starts (tests stand in an older
// build's list to make a data dir without the system shard).
var shardsToStart = command.Shards

// upgradeTimeout bounds the wait for the catalog shard's voters when a
// server starts a shard its data dir does not have yet.
const upgradeTimeout = 30 * time.Second

// newShardMembers are the initial members of a shard that this server's
// data dir lacks while it has the catalog shard: a data dir made before
// the shard existed. The new shard starts with the catalog shard's voters,
// which every upgraded server reads alike while the membership is stable
// (docs/operations.md, Upgrades); nil when this server is not one of them
// (it then joins, as a new server does).
func (a *Agent) newShardMembers(id command.Shard) (map[uint64]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), upgradeTimeout)
	defer cancel()
	m, err := a.host.Membership(ctx, command.ShardCatalog)
	if err != nil {
		return nil, fmt.Errorf("start shard %v, new since this data dir was made: the catalog shard's voters: %w", id, err)
	}
	if _, ok := m.Voters[a.host.ReplicaID()]; !ok {
		return nil, nil
	}
	a.log.Info("starting a shard this data dir did not have yet, with the catalog shard's voters", "shard", id.String(), "voters", len(m.Voters))
	return m.Voters, nil
}

// aclServer is what the ACL endpoints read of a server's replica; none on
// a client agent, which answers token reads as Consul redacts them.
func (a *Agent) aclServer() httpapi.ACLServer {
	if a.host == nil {
		return nil
	}
	return a
}

// ResolveToken resolves a secret as this agent's HTTP API does;
// acl.ErrDisabled when ACLs are off.
func (a *Agent) ResolveToken(secret string) (acl.Identity, error) {
	if !a.cfg.ACL.Enabled {
		return acl.Identity{}, acl.ErrDisabled
	}
	return a.acl.Resolve(secret)
}
