package watch

import (
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// ClientAuth decides who may connect to the embedded server and with which
// permissions (ServerConfig.ClientAuth, set when ACLs are enabled). NATS
// asks its Check for every client connection; natsauth implements it with
// Herald's tokens.
type ClientAuth interface {
	server.Authentication
	// Attach is called once the server accepts clients, with the server,
	// so that the authenticator can close the connections whose token
	// stops being valid. It is not called if the server does not start.
	Attach(s *server.Server)
}

// clientAuthOptions hands the authenticator to NATS: with it set, NATS
// requires every client to authenticate and asks only the authenticator.
func clientAuthOptions(cfg ServerConfig, opts *server.Options) {
	if cfg.ClientAuth != nil {
		opts.CustomClientAuthentication = cfg.ClientAuth
	}
}

// NameToken is a name as one subject token, escaped as Subject escapes the
// node, service and check names of catalog subjects: for subject filters
// naming one of them.
func NameToken(name string) string {
	var b strings.Builder
	escapeSegment(&b, name)
	return b.String()
}

// hashedTokenLen is the length of the token that ends a subject Subject cut
// short: truncatedMarker and 16 hex digits.
const hashedTokenLen = len(truncatedMarker) + 16

// SubjectMayCut reports whether Subject may cut a subject that starts with
// lead (herald.<dc>.<shard>.<tokens>, no trailing dot) short of lead's own
// tokens, that is, whether lead.> may miss a subject whose tokens start with
// lead's. A filter that must match every such subject (a deny) names a
// shorter lead instead.
func SubjectMayCut(lead string) bool {
	return len(lead)+1+hashedTokenLen > MaxSubjectLen
}
