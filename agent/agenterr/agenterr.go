// Package agenterr names the kinds of failure the agent reports to its
// front ends, so that httpapi can answer each with Consul's status code in
// one place (Server.fail) without knowing the agent. It is a leaf: it
// imports nothing of Herald's.
package agenterr

import "errors"

// The kinds. An error of a kind keeps its own message (see Mark); the kind
// only says how the front end answers it.
var (
	// ErrNotFound: what the request names does not exist here, such as
	// an unknown service, check or gossip member (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request cannot be acted on as it stands, such as a
	// malformed definition or a peer that is not in the Raft
	// configuration (HTTP 400).
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: this agent lacks the part that serves the request,
	// such as gossip when its port is off (HTTP 500).
	ErrUnavailable = errors.New("not available on this agent")
)

// Mark returns err as an error of the given kind: errors.Is matches both
// the kind and everything err matches, and the message is err's alone.
// Mark(kind, nil) is nil.
func Mark(kind, err error) error {
	if err == nil {
		return nil
	}
	return &marked{kind: kind, err: err}
}

type marked struct{ kind, err error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.kind, m.err} }
