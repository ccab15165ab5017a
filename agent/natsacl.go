package agent

import (
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/natsauth"
	"github.com/heraldhq/herald/watch"
)

// With ACLs enabled, the embedded NATS server admits only connections with
// a Herald token (natsauth). The agents' own connections authenticate so:
//
//   - a server's connections to its own embedded server (publishers, RPC
//     server, user events) present the per-process secret of its
//     natsauth.Authenticator, which exists only in memory;
//   - a client agent connects to the servers' NATS as
//     natsauth.AgentUser(node) with its agent token (acl.tokens.agent, else
//     acl.tokens.default), which needs node:write on its node, as it does
//     to register the node.

// natsACL is the agent's side of ACLs on NATS.
type natsACL struct {
	// resolver resolves NATS clients' tokens on a server; nil leaves the
	// embedded NATS open to all, as with ACLs disabled.
	resolver acl.Resolver
	auth     *natsauth.Authenticator
}

// SetACLResolver gives a server agent the resolver its embedded NATS server
// admits clients with when acl.enabled is set; call it before Start. This
// is the seam where the agent's ACL state plugs in.
func (a *Agent) SetACLResolver(r acl.Resolver) { a.natsACL.resolver = r }

// natsClientAuth is the authenticator of the embedded NATS server: nil
// (every client admitted, with every permission) unless ACLs are enabled
// and there is a resolver.
func (a *Agent) natsClientAuth() (watch.ClientAuth, error) {
	if !a.cfg.ACL.Enabled || a.natsACL.resolver == nil {
		return nil, nil
	}
	if a.natsACL.auth == nil {
		auth, err := natsauth.New(natsauth.Config{Datacenter: a.cfg.Datacenter, Resolver: a.natsACL.resolver,
			Logger: a.log})
		if err != nil {
			return nil, err
		}
		a.natsACL.auth = auth
	}
	return a.natsACL.auth, nil
}

// natsOwnOptions are the options of a server's own connection to its
// embedded NATS server: with ACLs, its in-memory secret, and no other
// server of a NATS cluster to fail over to, since only this one knows it.
func (a *Agent) natsOwnOptions() []nats.Option {
	if a.natsACL.auth == nil {
		return nil
	}
	return []nats.Option{a.natsACL.auth.InternalOption(), nats.IgnoreDiscoveredServers()}
}

// natsAgentOptions are the options of a client agent's connection to the
// servers' NATS: with ACLs, its agent token, read again at every
// (re)connection so that a token set through /v1/agent/token is used.
func (a *Agent) natsAgentOptions() []nats.Option {
	if !a.cfg.ACL.Enabled {
		return nil
	}
	return []nats.Option{nats.UserInfoHandler(func() (string, string) {
		token := a.tokens.Token(tokens.Agent)
		if token == "" {
			token = a.tokens.Token(tokens.Default)
		}
		return natsauth.AgentUser(a.cfg.NodeName), token
	})}
}
