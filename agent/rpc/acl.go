package rpc

import (
	"errors"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/log/command"
)

// hdrToken carries, on a write a client agent sends, the token the write
// acts with: the one its caller presented to the client agent, or the
// agent's own for the agent's writes. A write without it acts with the
// server's default token. The header travels only between agents and
// servers, and is never logged.
const hdrToken = "Herald-Token"

// ACL is how a server judges the writes client agents send: the token's
// identity, and the rules of acl.AuthorizeCommand over the server's state.
type ACL struct {
	Resolver acl.Resolver
	State    acl.CommandState
}

// authorize returns the identity a write acts with, or the reply refusing
// it.
func (a *ACL) authorize(m *nats.Msg, cmd command.Command) (acl.Identity, *Reply) {
	id, refusal := a.identity(m)
	if refusal != nil {
		return id, refusal
	}
	err := acl.AuthorizeCommand(id, cmd, a.State)
	if err == nil {
		return id, nil
	}
	r := &Reply{Error: err.Error()}
	var denied *acl.PermissionDeniedError
	if errors.As(err, &denied) {
		r.Denied = denied
	}
	if op, ok := acl.AsOpError(err); ok {
		r.DeniedOp = &op.Index
	}
	return id, r
}

// aclError is the error a reply refusing a write by the rules stands for,
// the same the client agent's own check would have returned; nil for any
// other reply.
func (r *Reply) aclError() error {
	var err error
	switch {
	case r.ACLNotFound:
		err = acl.ErrNotFound
	case r.Denied != nil:
		err = r.Denied
	default:
		return nil
	}
	if r.DeniedOp != nil {
		err = &acl.OpError{Index: *r.DeniedOp, Err: err}
	}
	return err
}

// identity resolves the token a request carries, or returns the reply
// refusing it.
func (a *ACL) identity(m *nats.Msg) (acl.Identity, *Reply) {
	secret := ""
	if m.Header != nil {
		secret = m.Header.Get(hdrToken)
	}
	id, err := a.Resolver.Resolve(secret)
	if err != nil {
		if errors.Is(err, acl.ErrNotFound) {
			return id, &Reply{Error: acl.ErrNotFound.Error(), ACLNotFound: true}
		}
		return id, &Reply{Error: err.Error()}
	}
	if id.SecretID == "" {
		id.SecretID = secret
	}
	return id, nil
}

// authorizeRead returns the reply refusing a read of name as res, or nil
// when the request's token may read it.
func (a *ACL) authorizeRead(m *nats.Msg, res acl.Resource, name string) *Reply {
	return a.authorizeAccess(m, res, name, acl.Read)
}

// authorizeAccess returns the reply refusing the request's token access
// to name as res, or nil when it has it.
func (a *ACL) authorizeAccess(m *nats.Msg, res acl.Resource, name string, access acl.Access) *Reply {
	id, refusal := a.identity(m)
	if refusal != nil {
		return refusal
	}
	if err := id.Check(res, name, access); err != nil {
		r := &Reply{Error: err.Error()}
		var denied *acl.PermissionDeniedError
		if errors.As(err, &denied) {
			r.Denied = denied
		}
		return r
	}
	return nil
}
