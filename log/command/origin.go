package command

import "context"

// Origin says who caused a command: the audit trail that `herald debug log`
// prints and, through Accessor, every event the command causes carries.
// It is recorded in the envelope (version 3), so it survives the trip from a
// client agent to the servers and is the same on every replica.
//
// An Origin never holds a secret: Accessor is the token's public
// AccessorID, never its SecretID.
type Origin struct {
	// Via is how the command came about: ViaHTTP for a request to the HTTP
	// API, ViaAgent for an agent's own work (anti-entropy, check results,
	// a leader's housekeeping), ViaRPC for a forwarded command that had
	// none.
	Via string
	// Node is the name of the agent where the request entered the cluster
	// (a client agent, for a write it forwarded to the servers).
	Node string
	// RemoteAddr is the ip:port of the HTTP client; "" for an agent's own
	// work.
	RemoteAddr string
	// Accessor is the AccessorID of the token the request acted as; ""
	// when ACLs are disabled.
	Accessor string
}

// How a command came about (Origin.Via).
const (
	ViaHTTP  = "http"
	ViaAgent = "agent"
	// ViaRPC is a command a client agent forwarded without an origin;
	// Node is then the server that proposed it.
	ViaRPC = "rpc"
)

// IsZero reports whether o records nothing (a command of version 1 or 2).
func (o Origin) IsZero() bool { return o == Origin{} }

type originKey struct{}

// WithOrigin returns ctx carrying the origin of the request it serves: the
// HTTP API puts Via and RemoteAddr there; the proposer adds the rest when it
// stamps the command (Requests.Stamp).
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the origin ctx carries, and whether it carries one.
func OriginFrom(ctx context.Context) (Origin, bool) {
	o, ok := ctx.Value(originKey{}).(Origin)
	return o, ok
}

// originOf completes the origin of a command proposed under ctx by node:
// what ctx carries (an agent's own work when it carries nothing), the node
// unless ctx named one, and the accessor of the identity ctx acts as.
func originOf(ctx context.Context, node string) Origin {
	o, ok := OriginFrom(ctx)
	if !ok {
		o = Origin{Via: ViaAgent}
	}
	if o.Node == "" {
		o.Node = node
	}
	if o.Accessor == "" {
		o.Accessor, _ = ctx.Value(accessorKey{}).(string)
	}
	return o
}

type accessorKey struct{}

// WithAccessor returns ctx naming the AccessorID of the token a request acts
// as, for the origin of the commands it proposes. acl.WithIdentity calls
// it, so that this package, a leaf, need not know ACLs.
func WithAccessor(ctx context.Context, accessorID string) context.Context {
	return context.WithValue(ctx, accessorKey{}, accessorID)
}

// Redactor is implemented by a body that holds a secret (a token's
// SecretID, a private key): Redacted returns a copy fit to print, with the
// secret replaced. Whatever shows command bodies to people (`herald debug
// log`) prints them through Printable, never as they are.
type Redactor interface {
	Redacted() Body
}

// RedactedText stands in for a secret in a Redacted body.
const RedactedText = "<redacted>"

// Printable is the form of b to show to people: b's Redacted copy when it
// has one, b itself otherwise.
func Printable(b Body) Body {
	if r, ok := b.(Redactor); ok {
		return r.Redacted()
	}
	return b
}
