package command

import "github.com/heraldhq/herald/event"

// ACL commands (system shard). Their numbers are explicit: the range 64–79
// is theirs.
const (
	// TypeACLTokenSet creates or updates a token (ACLTokenSetBody).
	TypeACLTokenSet Type = 64
	// TypeACLTokenDelete deletes a token (ACLTokenDeleteBody).
	TypeACLTokenDelete Type = 65
	// TypeACLPolicySet creates or updates a policy (ACLPolicySetBody).
	TypeACLPolicySet Type = 66
	// TypeACLPolicyDelete deletes a policy (ACLPolicyDeleteBody).
	TypeACLPolicyDelete Type = 67
	// TypeACLRoleSet creates or updates a role (ACLRoleSetBody).
	TypeACLRoleSet Type = 68
	// TypeACLRoleDelete deletes a role (ACLRoleDeleteBody).
	TypeACLRoleDelete Type = 69
	// TypeACLBootstrap makes the bootstrap management token, once
	// (ACLBootstrapBody).
	TypeACLBootstrap Type = 70
	// TypeACLInit makes the built-in records, and the configured initial
	// management token, when they are missing (ACLInitBody).
	TypeACLInit Type = 71
)

// ACLTokenSetBody creates a token (Create: its AccessorID must be new) or
// updates one. The proposer chooses the AccessorID, the SecretID, the
// CreateTime and the ExpirationTime, so that every replica applies the same
// token; links may name policies and roles by Name only, and the apply
// resolves them to IDs. Token.SecretHash and the indexes are ignored.
type ACLTokenSetBody struct {
	Create bool
	// SecretID is the token's secret; on an update, empty keeps the
	// stored one. It is stored, and never leaves the state machine on the
	// event stream.
	SecretID string
	Token    event.ACLToken
}

// ACLTokenDeleteBody deletes a token by AccessorID.
type ACLTokenDeleteBody struct{ AccessorID string }

// ACLPolicySetBody creates a policy (Create: its ID must be new) or updates
// one. The proposer has checked that the rules parse.
type ACLPolicySetBody struct {
	Create bool
	Policy event.ACLPolicy
}

// ACLPolicyDeleteBody deletes a policy by ID.
type ACLPolicyDeleteBody struct{ ID string }

// ACLRoleSetBody creates a role (Create: its ID must be new) or updates
// one; policy links may name policies by Name only.
type ACLRoleSetBody struct {
	Create bool
	Role   event.ACLRole
}

// ACLRoleDeleteBody deletes a role by ID.
type ACLRoleDeleteBody struct{ ID string }

// ACLBootstrapBody makes a management token (linked to the
// global-management policy) unless bootstrap was done already; a done
// bootstrap may be done again when ResetIndex names the index it was done
// at, as Consul's acl-bootstrap-reset file allows.
type ACLBootstrapBody struct {
	AccessorID string
	SecretID   string
	ResetIndex uint64
	// CreateTime is the token's, Unix nanoseconds.
	CreateTime int64
}

// ACLInitBody makes whatever of the built-in global-management policy and
// anonymous token is missing and, when ManagementSecretID is set (the
// configuration's initial_management), a management token with that
// secret unless one exists. Any server may propose it any number of times:
// an apply that finds everything in place changes nothing.
type ACLInitBody struct {
	ManagementAccessorID string
	ManagementSecretID   string
	CreateTime           int64
}

func (*ACLTokenSetBody) Type() Type     { return TypeACLTokenSet }
func (*ACLTokenDeleteBody) Type() Type  { return TypeACLTokenDelete }
func (*ACLPolicySetBody) Type() Type    { return TypeACLPolicySet }
func (*ACLPolicyDeleteBody) Type() Type { return TypeACLPolicyDelete }
func (*ACLRoleSetBody) Type() Type      { return TypeACLRoleSet }
func (*ACLRoleDeleteBody) Type() Type   { return TypeACLRoleDelete }
func (*ACLBootstrapBody) Type() Type    { return TypeACLBootstrap }
func (*ACLInitBody) Type() Type         { return TypeACLInit }

func (e *encoder) aclLinks(links []event.ACLLink) {
	e.uvarint(uint64(len(links)))
	for _, l := range links {
		e.string(l.ID)
		e.string(l.Name)
	}
}

func (d *decoder) aclLinks() []event.ACLLink {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	out := make([]event.ACLLink, n)
	for i := range out {
		out[i] = event.ACLLink{ID: d.string(), Name: d.string()}
	}
	return out
}

func (e *encoder) aclIdentities(svc []event.ACLServiceIdentity, nodes []event.ACLNodeIdentity) {
	e.uvarint(uint64(len(svc)))
	for _, s := range svc {
		e.string(s.ServiceName)
		e.strings(s.Datacenters)
	}
	e.uvarint(uint64(len(nodes)))
	for _, n := range nodes {
		e.string(n.NodeName)
		e.string(n.Datacenter)
	}
}

func (d *decoder) aclIdentities() ([]event.ACLServiceIdentity, []event.ACLNodeIdentity) {
	var svc []event.ACLServiceIdentity
	if n := d.count(2); n > 0 {
		svc = make([]event.ACLServiceIdentity, n)
		for i := range svc {
			svc[i] = event.ACLServiceIdentity{ServiceName: d.string(), Datacenters: d.strings()}
		}
	}
	var nodes []event.ACLNodeIdentity
	if n := d.count(2); n > 0 {
		nodes = make([]event.ACLNodeIdentity, n)
		for i := range nodes {
			nodes[i] = event.ACLNodeIdentity{NodeName: d.string(), Datacenter: d.string()}
		}
	}
	return svc, nodes
}

func (b *ACLTokenSetBody) encode(e *encoder) {
	e.bool(b.Create)
	e.string(b.SecretID)
	e.aclToken(&b.Token)
}

func (b *ACLTokenSetBody) decode(d *decoder) error {
	b.Create = d.bool()
	b.SecretID = d.string()
	d.aclToken(&b.Token)
	return d.err
}

func (b *ACLTokenDeleteBody) encode(e *encoder) { e.string(b.AccessorID) }
func (b *ACLTokenDeleteBody) decode(d *decoder) error {
	b.AccessorID = d.string()
	return d.err
}

func (b *ACLPolicySetBody) encode(e *encoder) {
	e.bool(b.Create)
	e.aclPolicy(&b.Policy)
}

func (b *ACLPolicySetBody) decode(d *decoder) error {
	b.Create = d.bool()
	d.aclPolicy(&b.Policy)
	return d.err
}

func (b *ACLPolicyDeleteBody) encode(e *encoder) { e.string(b.ID) }
func (b *ACLPolicyDeleteBody) decode(d *decoder) error {
	b.ID = d.string()
	return d.err
}

func (b *ACLRoleSetBody) encode(e *encoder) {
	e.bool(b.Create)
	e.aclRole(&b.Role)
}

func (b *ACLRoleSetBody) decode(d *decoder) error {
	b.Create = d.bool()
	d.aclRole(&b.Role)
	return d.err
}

func (b *ACLRoleDeleteBody) encode(e *encoder) { e.string(b.ID) }
func (b *ACLRoleDeleteBody) decode(d *decoder) error {
	b.ID = d.string()
	return d.err
}

func (b *ACLBootstrapBody) encode(e *encoder) {
	e.string(b.AccessorID)
	e.string(b.SecretID)
	e.uvarint(b.ResetIndex)
	e.varint(b.CreateTime)
}

func (b *ACLBootstrapBody) decode(d *decoder) error {
	b.AccessorID, b.SecretID = d.string(), d.string()
	b.ResetIndex = d.uvarint()
	b.CreateTime = d.varint()
	return d.err
}

func (b *ACLInitBody) encode(e *encoder) {
	e.string(b.ManagementAccessorID)
	e.string(b.ManagementSecretID)
	e.varint(b.CreateTime)
}

func (b *ACLInitBody) decode(d *decoder) error {
	b.ManagementAccessorID, b.ManagementSecretID = d.string(), d.string()
	b.CreateTime = d.varint()
	return d.err
}

// ACLResult is what applying an ACL write answers, in KVTxnResult.ACL: the
// record as stored (a token without its SecretID), so the proposer can
// answer with its indexes.
type ACLResult struct {
	Token  *event.ACLToken  `json:",omitempty"`
	Policy *event.ACLPolicy `json:",omitempty"`
	Role   *event.ACLRole   `json:",omitempty"`
}

// Redacted returns a copy of the body fit to print: its SecretID
// replaced. The bodies that carry a secret have one; whatever shows command
// bodies to people prints their Redacted copies.
func (b *ACLTokenSetBody) Redacted() Body {
	c := *b
	if c.SecretID != "" {
		c.SecretID = RedactedText
	}
	return &c
}

func (b *ACLBootstrapBody) Redacted() Body {
	c := *b
	c.SecretID = RedactedText
	return &c
}

func (b *ACLInitBody) Redacted() Body {
	c := *b
	if c.ManagementSecretID != "" {
		c.ManagementSecretID = RedactedText
	}
	return &c
}

// The wire forms of a policy, a role and a token (without its secret),
// shared by the ACL commands and acl-replicate.

func (e *encoder) aclPolicy(p *event.ACLPolicy) {
	e.string(p.ID)
	e.string(p.Name)
	e.string(p.Description)
	e.string(p.Rules)
	e.strings(p.Datacenters)
}

func (d *decoder) aclPolicy(p *event.ACLPolicy) {
	p.ID, p.Name, p.Description, p.Rules = d.string(), d.string(), d.string(), d.string()
	p.Datacenters = d.strings()
}

func (e *encoder) aclRole(r *event.ACLRole) {
	e.string(r.ID)
	e.string(r.Name)
	e.string(r.Description)
	e.aclLinks(r.Policies)
	e.aclIdentities(r.ServiceIdentities, r.NodeIdentities)
}

func (d *decoder) aclRole(r *event.ACLRole) {
	r.ID, r.Name, r.Description = d.string(), d.string(), d.string()
	r.Policies = d.aclLinks()
	r.ServiceIdentities, r.NodeIdentities = d.aclIdentities()
}

func (e *encoder) aclToken(t *event.ACLToken) {
	e.string(t.AccessorID)
	e.string(t.Description)
	e.aclLinks(t.Policies)
	e.aclLinks(t.Roles)
	e.aclIdentities(t.ServiceIdentities, t.NodeIdentities)
	e.bool(t.Local)
	e.varint(t.ExpirationTime)
	e.varint(t.CreateTime)
}

func (d *decoder) aclToken(t *event.ACLToken) {
	t.AccessorID = d.string()
	t.Description = d.string()
	t.Policies = d.aclLinks()
	t.Roles = d.aclLinks()
	t.ServiceIdentities, t.NodeIdentities = d.aclIdentities()
	t.Local = d.bool()
	t.ExpirationTime = d.varint()
	t.CreateTime = d.varint()
}
