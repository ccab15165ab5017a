package acl

import (
	"errors"
	"fmt"

	"github.com/heraldhq/herald/log/command"
)

// CommandState is what AuthorizeCommand reads of the current state, for
// the commands that name a thing by ID only (a service deregistration
// names its ID, but the rules speak of service names). Each method reports
// ok false for a thing that does not exist.
type CommandState interface {
	// NodeService is the name of a service instance registered on node.
	NodeService(node, serviceID string) (name string, ok bool)
	// NodeCheck is the name of the service a check of node belongs to, ""
	// for a node-level check.
	NodeCheck(node, checkID string) (serviceName string, ok bool)
	// SessionNode is the node a session belongs to.
	SessionNode(id string) (node string, ok bool)
	// QueryName is the name of a prepared query.
	QueryName(id string) (name string, ok bool)
}

// OpError is a refusal of one operation of a transaction: the API answers
// it in the transaction's error list, with the operation's index, as
// Consul does; elsewhere it is the refusal it wraps.
type OpError struct {
	Index int
	Err   error
}

func (e *OpError) Error() string { return e.Err.Error() }
func (e *OpError) Unwrap() error { return e.Err }

// AsOpError returns the transaction operation err refuses, if it does.
func AsOpError(err error) (*OpError, bool) {
	var op *OpError
	ok := errors.As(err, &op)
	return op, ok
}

// AuthorizeCommand returns nil if id may have cmd applied, and otherwise
// the *PermissionDeniedError naming the first permission it lacks (wrapped
// in an *OpError for a transaction's operation). The rules are Consul's
// for the RPC each command stands for; st (which may be nil) names what a
// command refers to by ID. A command type this function does not know
// needs acl:write, the management permission: a new type is refused to
// everyone but operators until its rule is written here.
func AuthorizeCommand(id Identity, cmd command.Command, st CommandState) error {
	if id.Authorizer == nil {
		return nil
	}
	if st == nil {
		st = noState{}
	}
	a := authorization{id: id, st: st}
	switch b := cmd.Body.(type) {
	case *command.KVBody:
		return a.kvOp(&b.Op)
	case *command.KVTxnBody:
		for i := range b.Ops {
			if err := a.kvOp(&b.Ops[i]); err != nil {
				return &OpError{Index: i, Err: err}
			}
		}
		return nil
	case *command.KVReplicateBody:
		// A replication batch writes and deletes anything under its
		// destination prefix, as a tree delete there would.
		if !a.id.Authorizer.AllowedPrefix(ResourceKey, b.DestinationPrefix, Write) {
			return &PermissionDeniedError{AccessorID: a.id.AccessorID, Resource: ResourceKey, Access: Write, Name: b.DestinationPrefix}
		}
		return nil
	case *command.CatalogRegisterBody:
		return a.register(b)
	case *command.CatalogDeregisterBody:
		return a.deregister(b)
	case *command.CheckStatusBody:
		return a.checkWrite(b.Node, b.CheckID)
	case *command.CatalogTxnBody:
		for i := range b.Ops {
			if err := a.catalogOp(&b.Ops[i]); err != nil {
				return &OpError{Index: i, Err: err}
			}
		}
		return nil
	case *command.SessionCreateBody:
		return id.Check(ResourceSession, b.Session.Node, Write)
	case *command.SessionDestroyBody:
		return a.sessionWrite(b.ID)
	case *command.SessionRenewBody:
		return a.sessionWrite(b.ID)
	case *command.QuerySetBody:
		if err := id.Check(ResourceQuery, b.Query.Name, Write); err != nil || b.Create {
			return err
		}
		return a.queryWrite(b.Query.ID)
	case *command.QueryDeleteBody:
		return a.queryWrite(b.ID)
	case *command.AutopilotSetBody, *command.ConnectCASetBody:
		return id.Check(ResourceOperator, "", Write)
	case *command.RestoreBody, *command.RestoreBeginBody, *command.RestoreChunkBody,
		*command.RestoreCommitBody, *command.RestoreAbortBody:
		// A snapshot holds the ACL state too: restoring one is management.
		return id.Check(ResourceACL, "", Write)
	case *command.ConfigEntrySetBody:
		res, name, _ := ConfigEntryResource(b.Entry.Kind, b.Entry.Name)
		return id.Check(res, name, Write)
	case *command.ConfigEntryDeleteBody:
		res, name, _ := ConfigEntryResource(b.Kind, b.Name)
		return id.Check(res, name, Write)
	case *command.ConfigReplicateBody:
		// The primary's entries, which only a secondary's leader proposes
		// (as the server itself): a token would need operator write, and
		// write on each entry.
		refs := make([]command.ConfigEntryRef, 0, len(b.Upserts)+len(b.Deletes))
		for _, e := range b.Upserts {
			refs = append(refs, command.ConfigEntryRef{Kind: e.Kind, Name: e.Name})
		}
		for _, r := range append(refs, b.Deletes...) {
			res, name, _ := ConfigEntryResource(r.Kind, r.Name)
			if err := id.Check(res, name, Write); err != nil {
				return err
			}
		}
		return id.Check(ResourceOperator, "", Write)
	case *command.ACLReplicateBody:
		// The primary's records, which only a secondary's leader proposes:
		// ACL management, as Consul asks of the replication token.
		return id.Check(ResourceACL, "", Write)
	case *command.ACLBootstrapBody:
		// Bootstrapping needs no token, as in Consul: the state machine
		// allows it once.
		return nil
	}
	// Tokens, policies and roles, and any command type without a rule
	// here yet: ACL management.
	return id.Check(ResourceACL, "", Write)
}

type authorization struct {
	id Identity
	st CommandState
}

// kvOp is Consul's rule for a key/value operation: a recursive delete
// needs write on every key under the prefix; gets are filtered on the way
// out instead; checks that reveal a key's state need read; the rest write.
func (a authorization) kvOp(op *command.KVOp) error {
	switch op.Verb {
	case command.KVDeleteTree:
		if !a.id.Authorizer.AllowedPrefix(ResourceKey, op.Key, Write) {
			return &PermissionDeniedError{AccessorID: a.id.AccessorID, Resource: ResourceKey, Access: Write, Name: op.Key}
		}
		return nil
	case command.KVGet, command.KVGetTree:
		return nil
	case command.KVCheckIndex, command.KVCheckSession:
		return a.id.Check(ResourceKey, op.Key, Read)
	}
	return a.id.Check(ResourceKey, op.Key, Write)
}

// register is Consul's rule for a catalog registration: write on the node
// unless the node is left as it is, write on the service (and on the name
// it had, when an instance is renamed), and for each check write on its
// service, or on the node for a node-level check.
func (a authorization) register(b *command.CatalogRegisterBody) error {
	node := b.Node.Node
	if !b.SkipNodeUpdate {
		if err := a.id.Check(ResourceNode, node, Write); err != nil {
			return err
		}
	}
	if sv := b.Service; sv != nil {
		if err := a.id.Check(ResourceService, sv.Service, Write); err != nil {
			return err
		}
		if old, ok := a.st.NodeService(node, sv.ID); ok && old != sv.Service {
			if err := a.id.Check(ResourceService, old, Write); err != nil {
				return err
			}
		}
	}
	for i := range b.Checks {
		c := &b.Checks[i]
		switch {
		case c.ServiceID == "":
			if err := a.id.Check(ResourceNode, node, Write); err != nil {
				return err
			}
		case b.Service != nil && c.ServiceID == b.Service.ID:
			// Checked with the service.
		default:
			if err := a.serviceWrite(node, c.ServiceID); err != nil {
				return err
			}
		}
	}
	return nil
}

// deregister is Consul's rule for a deregistration: write on the node is
// enough for anything on it (an agent whose token lost a service's write
// can still remove it); otherwise write on the service removed, or on the
// check's service.
func (a authorization) deregister(b *command.CatalogDeregisterBody) error {
	nodeErr := a.id.Check(ResourceNode, b.Node, Write)
	if nodeErr == nil {
		return nil
	}
	switch {
	case b.ServiceID != "":
		return a.serviceWrite(b.Node, b.ServiceID)
	case b.CheckID != "":
		return a.checkWrite(b.Node, b.CheckID)
	}
	return nodeErr
}

// serviceWrite needs write on the service instance's name; an unknown
// instance needs write on the node.
func (a authorization) serviceWrite(node, serviceID string) error {
	name, ok := a.st.NodeService(node, serviceID)
	if !ok {
		return a.id.Check(ResourceNode, node, Write)
	}
	return a.id.Check(ResourceService, name, Write)
}

// checkWrite needs write on the check's service, or on the node for a
// node-level or unknown check.
func (a authorization) checkWrite(node, checkID string) error {
	if svc, ok := a.st.NodeCheck(node, checkID); ok && svc != "" {
		return a.id.Check(ResourceService, svc, Write)
	}
	return a.id.Check(ResourceNode, node, Write)
}

// catalogOp is the rule of a transaction's Node, Service or Check
// operation: gets need read, every other verb write.
func (a authorization) catalogOp(op *command.CatalogOp) error {
	need := Write
	if op.Verb == "get" {
		need = Read
	}
	switch op.Kind {
	case command.CatalogOpNode:
		return a.id.Check(ResourceNode, op.Node.Node, need)
	case command.CatalogOpService:
		if op.Service == nil {
			return a.id.Check(ResourceNode, op.Node.Node, need)
		}
		name := op.Service.Service
		if name == "" {
			if known, ok := a.st.NodeService(op.Node.Node, op.Service.ID); ok {
				name = known
			}
		}
		return a.id.Check(ResourceService, name, need)
	case command.CatalogOpCheck:
		if op.Check == nil {
			return fmt.Errorf("%w: check operation without a check", command.ErrInvalidCommand)
		}
		if op.Check.ServiceID == "" {
			return a.id.Check(ResourceNode, op.Check.Node, need)
		}
		name := op.Check.ServiceName
		if name == "" {
			if known, ok := a.st.NodeService(op.Check.Node, op.Check.ServiceID); ok {
				name = known
			}
		}
		return a.id.Check(ResourceService, name, need)
	}
	return a.id.Check(ResourceACL, "", Write)
}

// sessionWrite needs session write on the session's node; an unknown
// session is left to the state machine, which refuses it by itself.
func (a authorization) sessionWrite(id string) error {
	node, ok := a.st.SessionNode(id)
	if !ok {
		return nil
	}
	return a.id.Check(ResourceSession, node, Write)
}

// queryWrite needs write on the name the query has now.
func (a authorization) queryWrite(id string) error {
	name, ok := a.st.QueryName(id)
	if !ok {
		return nil
	}
	return a.id.Check(ResourceQuery, name, Write)
}

type noState struct{}

func (noState) NodeService(string, string) (string, bool) { return "", false }
func (noState) NodeCheck(string, string) (string, bool)   { return "", false }
func (noState) SessionNode(string) (string, bool)         { return "", false }
func (noState) QueryName(string) (string, bool)           { return "", false }
