package command

import "github.com/heraldhq/herald/event"

// ACL replication (system shard of a secondary datacenter). The range
// 80–83 is its own.
const (
	// TypeACLReplicate applies one batch of the primary datacenter's ACL
	// records and the replication status after it (ACLReplicateBody).
	TypeACLReplicate Type = 80
)

// ACLReplicationStatus is a secondary's replication status, kept in the
// replicated state so that a new leader of the system shard resumes from
// the indexes it names. The indexes are the primary's (its X-Consul-Index
// for the ACL reads a round saw); times are Unix nanoseconds, 0 for never.
type ACLReplicationStatus struct {
	SourceDatacenter string
	// ReplicationType is Consul's "policies" (policies and roles) or
	// "tokens" (policies, roles and global tokens).
	ReplicationType      string
	ReplicatedIndex      uint64
	ReplicatedRoleIndex  uint64
	ReplicatedTokenIndex uint64
	LastSuccess          int64
	LastError            int64
	LastErrorMessage     string
}

// ACLReplicatedToken is a global token of the primary, with its secret.
type ACLReplicatedToken struct {
	SecretID string
	Token    event.ACLToken
}

// ACLReplicateBody is a batch of the primary's records to store as they
// are (IDs, SecretIDs, links by ID: a link to a record the batch or the
// state lacks is kept, as Consul's replication allows missing links), the
// records the primary no longer has, and the status after the batch. A
// body with no records records a round's outcome alone (a failure, or a
// primary with nothing new). Local tokens are never touched.
type ACLReplicateBody struct {
	Policies       []event.ACLPolicy
	Roles          []event.ACLRole
	Tokens         []ACLReplicatedToken
	DeletePolicies []string
	DeleteRoles    []string
	DeleteTokens   []string
	Status         ACLReplicationStatus
}

func (*ACLReplicateBody) Type() Type { return TypeACLReplicate }

func (b *ACLReplicateBody) encode(e *encoder) {
	e.uvarint(uint64(len(b.Policies)))
	for i := range b.Policies {
		e.aclPolicy(&b.Policies[i])
	}
	e.uvarint(uint64(len(b.Roles)))
	for i := range b.Roles {
		e.aclRole(&b.Roles[i])
	}
	e.uvarint(uint64(len(b.Tokens)))
	for i := range b.Tokens {
		e.string(b.Tokens[i].SecretID)
		e.aclToken(&b.Tokens[i].Token)
	}
	e.strings(b.DeletePolicies)
	e.strings(b.DeleteRoles)
	e.strings(b.DeleteTokens)
	s := &b.Status
	e.string(s.SourceDatacenter)
	e.string(s.ReplicationType)
	e.uvarint(s.ReplicatedIndex)
	e.uvarint(s.ReplicatedRoleIndex)
	e.uvarint(s.ReplicatedTokenIndex)
	e.varint(s.LastSuccess)
	e.varint(s.LastError)
	e.string(s.LastErrorMessage)
}

func (b *ACLReplicateBody) decode(d *decoder) error {
	if n := d.count(5); n > 0 {
		b.Policies = make([]event.ACLPolicy, n)
		for i := range b.Policies {
			d.aclPolicy(&b.Policies[i])
		}
	}
	if n := d.count(6); n > 0 {
		b.Roles = make([]event.ACLRole, n)
		for i := range b.Roles {
			d.aclRole(&b.Roles[i])
		}
	}
	if n := d.count(10); n > 0 {
		b.Tokens = make([]ACLReplicatedToken, n)
		for i := range b.Tokens {
			b.Tokens[i].SecretID = d.string()
			d.aclToken(&b.Tokens[i].Token)
		}
	}
	b.DeletePolicies = d.strings()
	b.DeleteRoles = d.strings()
	b.DeleteTokens = d.strings()
	s := &b.Status
	s.SourceDatacenter, s.ReplicationType = d.string(), d.string()
	s.ReplicatedIndex, s.ReplicatedRoleIndex, s.ReplicatedTokenIndex = d.uvarint(), d.uvarint(), d.uvarint()
	s.LastSuccess, s.LastError = d.varint(), d.varint()
	s.LastErrorMessage = d.string()
	return d.err
}

// Redacted returns a copy fit to print: the tokens' secrets replaced.
func (b *ACLReplicateBody) Redacted() Body {
	c := *b
	c.Tokens = make([]ACLReplicatedToken, len(b.Tokens))
	for i, t := range b.Tokens {
		t.SecretID = RedactedText
		c.Tokens[i] = t
	}
	return &c
}
