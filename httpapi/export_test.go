package httpapi

import "time"

// SetACLTokenMinExpirationTTL lowers the shortest token life the API
// accepts, so that a test can see a token expire, until the returned
// function restores it.
func SetACLTokenMinExpirationTTL(d time.Duration) (restore func()) {
	old := aclTokenMinExpirationTTL
	aclTokenMinExpirationTTL = d
	return func() { aclTokenMinExpirationTTL = old }
}
