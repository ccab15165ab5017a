package agent

import (
	"context"
	"crypto"
	"fmt"
	"time"

	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/leader"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/connectca"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// The built-in Connect CA: its state arrives with the catalog shard (see
// catalogSink), without its private keys, and the HTTP API serves it;
// certificates are signed with the keys of a server's replica (caSigner),
// and where this server leads the catalog shard the leader creates the
// first root.

// startConnectCA runs the loop that creates the CA's first root where this
// server leads the catalog shard; a server with Connect disabled leaves it
// to the others, as Consul's does.
func (a *Agent) startConnectCA(ctx context.Context) {
	if !a.cfg.Connect.Enabled || a.host == nil {
		return
	}
	init := leader.ConnectCAInit{Raft: a.host, CA: a.connectCA, Provider: a.cfg.Connect.CAProvider,
		Config: a.cfg.Connect.CAConfig, Logger: a.log.With("component", "connect-ca")}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		init.Run(ctx)
	}()
}

// connectCAForHTTP is the CA the HTTP API serves: none when Connect is
// disabled, so that its endpoints answer as Consul's do then.
func (a *Agent) connectCAForHTTP() *projections.ConnectCA {
	if !a.cfg.Connect.Enabled {
		return nil
	}
	return a.connectCA
}

// caSigner signs with the CA's private keys: this server's replica's, or,
// on a client agent, a server's through rpc's sign verb
// (httpapi.CASigner, rpc.LeafSigner).
type caSigner struct{ a *Agent }

func (c caSigner) HasKeys() bool { return c.a.host != nil }

func (c caSigner) WithKeys() (*event.ConnectCA, error) {
	sm := c.a.shards[command.ShardCatalog]
	if c.a.host == nil || sm == nil {
		return nil, fmt.Errorf("%w: only servers hold the CA's keys", agenterr.ErrUnavailable)
	}
	return sm.ConnectCAWithKeys()
}

func (c caSigner) SignKey(ctx context.Context, service string, pub crypto.PublicKey) (*connectca.Leaf, error) {
	if c.a.host == nil {
		nc := c.a.clientNATS.Load()
		if nc == nil {
			return nil, fmt.Errorf("%w: no connection to the servers yet", agenterr.ErrUnavailable)
		}
		return rpc.NewClient(nc, c.a.cfg.Datacenter).SignKey(ctx, service, pub)
	}
	ca, err := c.WithKeys()
	if err != nil {
		return nil, err
	}
	root := ca.ActiveRoot()
	if root == nil {
		return nil, fmt.Errorf("%w: CA not initialized yet: it has no active root", agenterr.ErrUnavailable)
	}
	cfg, err := connectca.ParseConfig(ca.Config)
	if err != nil {
		cfg = connectca.DefaultConfig()
	}
	return connectca.SignKey(root, ca.TrustDomain(), c.a.cfg.Datacenter, service, pub, cfg.LeafCertTTL, time.Now())
}

// SignKey answers client agents' sign requests (rpc.LeafSigner).
func (s serverShards) SignKey(ctx context.Context, service string, pub crypto.PublicKey) (*connectca.Leaf, error) {
	return caSigner{s.a}.SignKey(ctx, service, pub)
}
