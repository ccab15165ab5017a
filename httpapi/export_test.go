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

// SetRestoreChunkSize changes how many bytes of a shard each chunk of a
// restore carries, until the returned function restores it.
func SetRestoreChunkSize(n int) (restore func()) {
	old := restoreChunkSize
	restoreChunkSize = n
	return func() { restoreChunkSize = old }
}
