package rpc

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/connectca"
	"github.com/heraldhq/herald/log/command"
)

// The sign verb: a client agent holds no Connect CA keys (they stay in the
// servers' replicas), so it makes the key of a service's leaf certificate
// itself and has a server sign its public half, as Consul's client agents
// send a CSR. The server judges the request by the caller's token, which
// travels as a write's does (hdrToken): it needs service:write on the
// service, as the leaf endpoint does.

// SignRequest asks for a leaf certificate of Service for PublicKey (PKIX,
// DER).
type SignRequest struct {
	Service   string
	PublicKey []byte
}

// LeafSigner is what a server answers sign requests with. Servers whose
// Shards do not implement it leave the verb unanswered.
type LeafSigner interface {
	SignKey(ctx context.Context, service string, pub crypto.PublicKey) (*connectca.Leaf, error)
}

// signShard is the shard whose subjects carry the verb: the CA's.
const signShard = command.ShardCatalog

// serveSign answers a sign request.
func serveSign(m *nats.Msg, shards Shards, access *ACL, reply func(*nats.Msg, Reply)) {
	signer, ok := shards.(LeafSigner)
	if !ok {
		reply(m, Reply{Error: "this server signs no certificates"})
		return
	}
	var req SignRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || req.Service == "" {
		reply(m, Reply{Error: fmt.Sprintf("bad sign request: %v", err), Invalid: true})
		return
	}
	pub, err := x509.ParsePKIXPublicKey(req.PublicKey)
	if err != nil {
		reply(m, Reply{Error: fmt.Sprintf("bad sign request: the public key: %v", err), Invalid: true})
		return
	}
	if access != nil {
		if refusal := access.authorizeAccess(m, acl.ResourceService, req.Service, acl.Write); refusal != nil {
			reply(m, *refusal)
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	leaf, err := signer.SignKey(ctx, req.Service, pub)
	if err != nil {
		reply(m, Reply{Error: err.Error()})
		return
	}
	data, err := json.Marshal(leaf)
	if err != nil {
		reply(m, Reply{Error: err.Error()})
		return
	}
	reply(m, Reply{Data: data})
}

// SignKey has a server sign a leaf certificate of service for pub, acting
// with the token of ctx's identity.
func (c *Client) SignKey(ctx context.Context, service string, pub crypto.PublicKey) (*connectca.Leaf, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(SignRequest{Service: service, PublicKey: der})
	if err != nil {
		return nil, err
	}
	r, err := c.request(ctx, signShard, "sign", body)
	if err != nil {
		return nil, err
	}
	leaf := new(connectca.Leaf)
	if err := json.Unmarshal(r.Data, leaf); err != nil {
		return nil, fmt.Errorf("rpc sign: bad reply: %w", err)
	}
	return leaf, nil
}
