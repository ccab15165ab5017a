package acl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/heraldhq/herald/log/command"
)

// Access is a level of access, ordered: a rule granting a level grants every
// level below it, except Deny, which grants nothing.
type Access uint8

const (
	// Default is no rule: the decision falls through to the next rule, and
	// in the end to the default policy.
	Default Access = iota
	Deny
	Read
	// List is key_prefix's "list": read, and listing the keys under the
	// prefix (Consul's key list check).
	List
	Write
)

// String is the access's name in rules and error messages.
func (a Access) String() string {
	switch a {
	case Deny:
		return "deny"
	case Read:
		return "read"
	case List:
		return "list"
	case Write:
		return "write"
	}
	return "default"
}

// Resource is a kind of thing a rule controls, named as in Consul's rules
// and permission strings ("key:write").
type Resource string

const (
	ResourceKey      Resource = "key"
	ResourceService  Resource = "service"
	ResourceNode     Resource = "node"
	ResourceSession  Resource = "session"
	ResourceEvent    Resource = "event"
	ResourceQuery    Resource = "query"
	ResourceAgent    Resource = "agent"
	ResourceOperator Resource = "operator"
	ResourceACL      Resource = "acl"
	ResourceKeyring  Resource = "keyring"
	ResourceMesh     Resource = "mesh"
)

// Segmented reports whether rules of the resource name things (key "a/b",
// service "web"), as opposed to the one-value resources operator, acl,
// keyring and mesh.
func (r Resource) Segmented() bool {
	switch r {
	case ResourceOperator, ResourceACL, ResourceKeyring, ResourceMesh:
		return false
	}
	return true
}

// Authorizer answers whether a token may do something. Every answer is
// final: the default policy is already folded in.
type Authorizer interface {
	// Allowed reports whether need (Read, List or Write) is granted on the
	// named thing; name is ignored for a resource that is not Segmented.
	Allowed(r Resource, name string, need Access) bool
	// AllowedPrefix reports whether need is granted on every name that
	// starts with prefix: granted on prefix itself and denied by no more
	// specific rule under it (Consul's KeyWritePrefix, for a recursive
	// delete).
	AllowedPrefix(r Resource, prefix string, need Access) bool
}

type constAuthorizer bool

func (a constAuthorizer) Allowed(Resource, string, Access) bool       { return bool(a) }
func (a constAuthorizer) AllowedPrefix(Resource, string, Access) bool { return bool(a) }

// AllowAll grants everything: the authorizer when ACLs are disabled, and the
// default policy "allow".
func AllowAll() Authorizer { return constAuthorizer(true) }

// DefaultAllow is the default policy "allow": everything but managing
// ACLs (acl read and write), which, as in Consul, only a rule grants. A
// cluster with ACLs on and this default thus still keeps its tokens from
// requests without one.
func DefaultAllow() Authorizer { return defaultAllow }

var defaultAllow = Compile(AllowAll(), &Rules{Single: map[Resource]Access{ResourceACL: Deny}})

// DenyAll grants nothing: the default policy "deny".
func DenyAll() Authorizer { return constAuthorizer(false) }

// ManageAll is the global-management policy's authorizer: everything.
func ManageAll() Authorizer { return constAuthorizer(true) }

// Errors, with Consul's texts: the HTTP API answers ErrNotFound and
// PermissionDeniedError with 403, ErrDisabled with 401.
var (
	ErrNotFound = errors.New("ACL not found")
	ErrDisabled = errors.New("ACL support disabled")
)

// PermissionDeniedError is a request refused by the rules.
type PermissionDeniedError struct {
	AccessorID string
	Resource   Resource
	Access     Access
	// Name is what was asked for; empty for a resource that is not
	// Segmented.
	Name string
}

func (e *PermissionDeniedError) Error() string {
	msg := fmt.Sprintf("Permission denied: token with AccessorID '%s' lacks permission '%s:%s'", e.AccessorID, e.Resource, e.Access)
	if e.Resource.Segmented() {
		msg += fmt.Sprintf(" on %q", e.Name)
	}
	return msg
}

// IsPermissionDenied reports whether err is, or wraps, a refusal by the
// rules.
func IsPermissionDenied(err error) bool {
	var pd *PermissionDeniedError
	return errors.As(err, &pd)
}

// Identity is who a request acts as.
type Identity struct {
	// AccessorID is the token's public ID: what logs, audit records and
	// events name. Empty when ACLs are disabled.
	AccessorID string
	// SecretID is the token as the caller presented it, kept only to
	// forward the request to a server (a client agent's RPC); never log it.
	SecretID   string `json:"-"`
	Authorizer Authorizer
}

// Check returns nil if the identity may have need on name, and the
// PermissionDeniedError naming it otherwise.
func (id Identity) Check(r Resource, name string, need Access) error {
	if id.Authorizer == nil || id.Authorizer.Allowed(r, name, need) {
		return nil
	}
	return &PermissionDeniedError{AccessorID: id.AccessorID, Resource: r, Access: need, Name: name}
}

// Resolver turns a presented secret into an identity.
type Resolver interface {
	// Resolve returns the identity of secret; "" stands for no token, which
	// resolves to the agent's default token, or else the anonymous token.
	// An unknown or expired secret is ErrNotFound.
	Resolve(secret string) (Identity, error)
}

type identityKey struct{}

// WithIdentity returns ctx carrying the identity a request acts as.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	// The accessor also goes where the command package looks for the
	// origin of the commands the request proposes.
	return context.WithValue(command.WithAccessor(ctx, id.AccessorID), identityKey{}, id)
}

// IdentityFrom returns the identity ctx carries; without one, the identity
// of a request with ACLs disabled: no accessor, everything allowed.
func IdentityFrom(ctx context.Context) Identity {
	if id, ok := ctx.Value(identityKey{}).(Identity); ok {
		return id
	}
	return Identity{Authorizer: AllowAll()}
}

// HashSecret is the SecretHash of a SecretID: what the event stream and the
// projections know a token by.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Well-known IDs, as Consul's.
const (
	// AnonymousTokenID is the accessor of the token used when a request
	// presents none and the agent has no default token.
	AnonymousTokenID = "00000000-0000-0000-0000-000000000002"
	// GlobalManagementPolicyID is the built-in policy that grants
	// everything.
	GlobalManagementPolicyID   = "00000000-0000-0000-0000-000000000001"
	GlobalManagementPolicyName = "global-management"
)
