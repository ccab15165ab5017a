package health

import (
	"errors"
	"fmt"

	"github.com/heraldhq/herald/event"
)

// Why a session's health does not let it live. Test for them with
// errors.Is; the *SessionError that wraps them names the check.
var (
	// ErrSessionNode: the session's node is not registered.
	ErrSessionNode = errors.New("session node missing")
	// ErrSessionCheckMissing: a check the session depends on is not
	// registered on its node.
	ErrSessionCheckMissing = errors.New("session check missing")
	// ErrSessionCheckCritical: a check the session depends on is critical.
	ErrSessionCheckCritical = errors.New("session check critical")
)

// SessionError is why CheckSession refuses a session. Its message is
// Consul's, as the session create endpoint answers it.
type SessionError struct {
	// Err is one of the ErrSession sentinels.
	Err error
	// CheckID is the check at fault; "" for ErrSessionNode.
	CheckID string
}

func (e *SessionError) Error() string {
	switch e.Err {
	case ErrSessionNode:
		return "Missing node registration"
	case ErrSessionCheckMissing:
		return fmt.Sprintf("Missing check '%s' registration", e.CheckID)
	case ErrSessionCheckCritical:
		return fmt.Sprintf("Check '%s' is in %s state", e.CheckID, Critical)
	}
	return e.Err.Error()
}

func (e *SessionError) Unwrap() error { return e.Err }

// CheckSession says whether a session's health lets it live: nil if so,
// else a *SessionError. It is the rule both for creating a session and for
// invalidating one later, as in Consul: the session's node must be
// registered (nodeKnown), and every check it names — its node checks and
// its service checks, looked up by ID among the node's checks — must be
// registered and not critical. Any other status, warning or unknown, keeps
// the session alive (Consul looks for critical only); a maintenance check
// is registered critical, so it ends a session that names it. Check IDs
// match exactly. The first fault in the session's order (node checks, then
// service checks) is reported. A TTL is not health and is checked by the
// caller.
func CheckSession(sess *event.Session, nodeKnown bool, nodeChecks []*event.Check) error {
	if !nodeKnown {
		return &SessionError{Err: ErrSessionNode}
	}
	status := make(map[string]string, len(nodeChecks))
	for _, c := range nodeChecks {
		if c != nil {
			status[c.CheckID] = c.Status
		}
	}
	ids := make([]string, 0, len(sess.NodeChecks)+len(sess.ServiceChecks))
	ids = append(ids, sess.NodeChecks...)
	for _, sc := range sess.ServiceChecks {
		ids = append(ids, sc.ID)
	}
	for _, id := range ids {
		st, ok := status[id]
		if !ok {
			return &SessionError{Err: ErrSessionCheckMissing, CheckID: id}
		}
		if st == Critical {
			return &SessionError{Err: ErrSessionCheckCritical, CheckID: id}
		}
	}
	return nil
}
