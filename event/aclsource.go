package event

// ACLSource is what a Source offers when its shard holds the ACL state (the
// system shard): the projections load tokens, policies and roles from it.
// Tokens carry their SecretHash, never their SecretID.
type ACLSource interface {
	// ScanACL calls the functions for every token, policy and role; any of
	// them may be nil.
	ScanACL(token func(*ACLToken) error, policy func(*ACLPolicy) error, role func(*ACLRole) error) error
}
