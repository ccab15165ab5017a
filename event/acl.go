package event

// ShardSystem is the shard of the ACL state (tokens, policies, roles): its
// own Raft group, so a token storm never queues behind KV or catalog writes.
const ShardSystem = "system"

// ACL events. Each carries the record after the change, or as it was for a
// deletion. A token on the event stream never carries its SecretID: only
// SecretHash, which lets an agent resolve a secret it is shown without the
// stream revealing one.
const (
	ACLTokenUpdated  Type = "acl.token.updated"
	ACLTokenDeleted  Type = "acl.token.deleted"
	ACLPolicyUpdated Type = "acl.policy.updated"
	ACLPolicyDeleted Type = "acl.policy.deleted"
	ACLRoleUpdated   Type = "acl.role.updated"
	ACLRoleDeleted   Type = "acl.role.deleted"
	// ACLBootstrapped: the bootstrap token was made; no second bootstrap is
	// allowed until an operator resets it.
	ACLBootstrapped Type = "acl.bootstrapped"
)

// ACLLink names a policy or role a token or role refers to, in Consul's
// ACLTokenPolicyLink/ACLTokenRoleLink shape.
type ACLLink struct {
	ID   string `json:",omitempty"`
	Name string `json:",omitempty"`
}

// ACLServiceIdentity grants what a service instance needs (Consul's
// service identity): write on the service and its sidecar, read on every
// service and node.
type ACLServiceIdentity struct {
	ServiceName string
	Datacenters []string `json:",omitempty"`
}

// ACLNodeIdentity grants what an agent needs (Consul's node identity): write
// on its node, read on every service.
type ACLNodeIdentity struct {
	NodeName   string
	Datacenter string
}

// ACLToken is a token as the event stream and the projections know it: its
// SecretHash, never its SecretID.
type ACLToken struct {
	AccessorID string
	// SecretHash is the hex SHA-256 of the SecretID (acl.HashSecret).
	SecretHash        string
	Description       string
	Policies          []ACLLink            `json:",omitempty"`
	Roles             []ACLLink            `json:",omitempty"`
	ServiceIdentities []ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []ACLNodeIdentity    `json:",omitempty"`
	Local             bool
	// ExpirationTime is when the token stops working, Unix nanoseconds; 0
	// for never.
	ExpirationTime int64 `json:",omitempty"`
	// CreateTime is when the token was made, Unix nanoseconds.
	CreateTime  int64
	CreateIndex uint64
	ModifyIndex uint64
}

// ACLPolicy is a policy: Consul's rules language source and where it
// applies.
type ACLPolicy struct {
	ID          string
	Name        string
	Description string
	Rules       string
	Datacenters []string `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// ACLRole is a named set of policies and identities that tokens link to.
type ACLRole struct {
	ID                string
	Name              string
	Description       string
	Policies          []ACLLink            `json:",omitempty"`
	ServiceIdentities []ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []ACLNodeIdentity    `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}
