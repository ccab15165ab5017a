package natsauth

import (
	"github.com/nats-io/nats-server/v2/server"

	"github.com/heraldhq/herald/acl"
)

// ReadFilter is the rule of which event subjects a token may read, as its
// NATS connection would be let subscribe to them, for a reader of the
// event stream that is not a NATS connection (the web UI's event tail): it
// reports whether authz may read the events published on a subject.
func ReadFilter(dc string, authz acl.Authorizer) func(subject string) bool {
	perm := userPermissions(dc, authz).Subscribe
	if authz.Allowed(acl.ResourceACL, "", acl.Write) {
		perm = trustedPermissions(dc).Subscribe
	}
	return func(subject string) bool {
		allowed := false
		for _, f := range perm.Allow {
			if server.SubjectMatchesFilter(subject, f) {
				allowed = true
				break
			}
		}
		if !allowed {
			return false
		}
		for _, f := range perm.Deny {
			if server.SubjectMatchesFilter(subject, f) {
				return false
			}
		}
		return true
	}
}
