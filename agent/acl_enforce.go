package agent

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/projections"
)

// aclEnforcement is what the agent's ACL enforcement is given: the
// resolver of presented tokens (the HTTP API, DNS, and on a server the
// RPC of client agents), and the identity of the agent's own writes.
type aclEnforcement struct {
	resolver acl.Resolver
	// agent is the identity of acl.tokens.agent (else of the default
	// token); nil: the resolver's answer for no token.
	agent func() acl.Identity
}

// SetACL turns ACL enforcement on, before Start: resolver resolves every
// token presented to this agent; agentIdentity, which may be nil, is the
// identity the agent's own catalog writes go with (its anti-entropy sync of
// the services and checks registered with it, check updates), as Consul's
// agent writes them with its agent token.
func (a *Agent) SetACL(resolver acl.Resolver, agentIdentity func() acl.Identity) {
	a.aclEnforce = aclEnforcement{resolver: resolver, agent: agentIdentity}
}

// agentIdentity is the identity of the agent's own writes; with ACLs
// disabled, one that may do everything.
func (a *Agent) agentIdentity() acl.Identity {
	switch e := a.aclEnforce; {
	case e.agent != nil:
		return e.agent()
	case e.resolver != nil:
		id, err := e.resolver.Resolve("")
		if err == nil {
			return id
		}
		// No usable token: the servers refuse the write, which is
		// retried by the sync loop, as with a token lacking permission.
		return acl.Identity{AccessorID: acl.AnonymousTokenID, Authorizer: acl.DenyAll()}
	}
	return acl.IdentityFrom(context.Background())
}

// syncIdentity is the identity a sync write of a service or check goes
// with: that of the token it was registered with (kept with its secret,
// which a client agent forwards), else the agent's.
func (a *Agent) syncIdentity(secret string) acl.Identity {
	if secret == "" || a.aclEnforce.resolver == nil {
		return a.agentIdentity()
	}
	id, err := a.aclEnforce.resolver.Resolve(secret)
	if err != nil {
		// Revoked since: the servers refuse the write, and the sync
		// retries it, as Consul's does.
		return acl.Identity{AccessorID: acl.AnonymousTokenID, SecretID: secret, Authorizer: acl.DenyAll()}
	}
	return id
}

// rpcACL is how this server judges client agents' writes; nil with ACLs
// disabled.
func (a *Agent) rpcACL() *rpc.ACL {
	if a.aclEnforce.resolver == nil {
		return nil
	}
	return &rpc.ACL{Resolver: a.aclEnforce.resolver, State: projections.ACLState{Catalog: a.catalog, KV: a.kv}}
}

// dnsAuthorizer is what DNS answers with: the authorizer of the agent's
// default token (the resolver's answer for no token), nil with ACLs
// disabled. A default token that does not resolve reads nothing.
//
// DNS asks for it once or twice a query, so the answer is kept while the
// ACL state's index and the default token stay the same, and for a second
// at most (a token may expire without any change to the state).
func (a *Agent) dnsAuthorizer() func() acl.Authorizer {
	resolver := a.aclEnforce.resolver
	if resolver == nil {
		return nil
	}
	resolve := func() acl.Authorizer {
		id, err := resolver.Resolve("")
		if err != nil || id.Authorizer == nil {
			return acl.DenyAll()
		}
		return id.Authorizer
	}
	indexed, ok := resolver.(interface{ Index() uint64 })
	if !ok {
		return resolve
	}
	type answer struct {
		secret string
		index  uint64
		until  time.Time
		authz  acl.Authorizer
	}
	var last atomic.Pointer[answer]
	return func() acl.Authorizer {
		secret, index, now := a.token(tokens.Default), indexed.Index(), time.Now()
		if l := last.Load(); l != nil && l.secret == secret && l.index == index && now.Before(l.until) {
			return l.authz
		}
		authz := resolve()
		last.Store(&answer{secret: secret, index: index, until: now.Add(time.Second), authz: authz})
		return authz
	}
}
