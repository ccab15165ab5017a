package statemachine

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// The ACL state (system shard), after Consul's ACL state store and its
// checks before the Raft apply that depend on the state: names unique
// without regard to case, links to policies and roles that exist (a link
// by name is stored by ID), the built-in global-management policy and the
// anonymous token protected. Checks of a request alone (identity names,
// rules syntax) are the proposer's.
const (
	areaACLTokens   byte = 0x1C // lower-case AccessorID -> JSON aclTokenRecord
	areaACLPolicies byte = 0x1D // lower-case policy ID -> JSON event.ACLPolicy
	areaACLRoles    byte = 0x1E // lower-case role ID -> JSON event.ACLRole
	areaACLMeta     byte = 0x1F // ACL bookkeeping, one key each (keyACLBootstrap)
)

// keyACLBootstrap holds the index the bootstrap token was made at: its
// presence means no second bootstrap, unless a reset names that index.
const keyACLBootstrap = "bootstrap"

// aclTokenRecord is a token as the state holds it: with its SecretID,
// which only this area and snapshots ever carry.
type aclTokenRecord struct {
	event.ACLToken
	SecretID string
}

// AnonymousSecretID is the anonymous token's SecretID, as Consul's.
const AnonymousSecretID = "anonymous"

// GlobalManagementRules are the built-in policy's rules, shown on reads;
// the resolver grants everything to the policy by its ID.
const GlobalManagementRules = `acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
}
session_prefix "" {
  policy = "write"
}`

var (
	validPolicyName = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,128}$`)
	validRoleName   = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,256}$`)
)

// aclStore is what the ACL rules read and write.
type aclStore struct {
	batch                   *pebble.Batch
	tokens, policies, roles byte
	meta                    byte
	// replication is the ACL replication status's area (aclrep.go).
	replication byte
}

func newACLStore(b *pebble.Batch, base bool) aclStore {
	st := aclStore{b, areaACLTokens, areaACLPolicies, areaACLRoles, areaACLMeta, areaACLReplication}
	if base {
		st = aclStore{b, baseOf(areaACLTokens), baseOf(areaACLPolicies), baseOf(areaACLRoles), baseOf(areaACLMeta), baseOf(areaACLReplication)}
	}
	return st
}

func aclKey(area byte, id string) []byte { return areaKey(area, strings.ToLower(id)) }

func (st aclStore) token(accessor string) (*aclTokenRecord, error) {
	return getJSON[aclTokenRecord](st.batch, aclKey(st.tokens, accessor))
}

// tokenBySecret scans: secrets are looked up only on token writes.
func (st aclStore) tokenBySecret(secret string) (*aclTokenRecord, error) {
	var found *aclTokenRecord
	err := scanJSON(st.batch.NewIter, []byte{st.tokens}, func(t *aclTokenRecord) error {
		if t.SecretID == secret {
			found = t
			return errStopScan
		}
		return nil
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return found, err
}

var errStopScan = errors.New("stop")

func (st aclStore) policy(id string) (*event.ACLPolicy, error) {
	return getJSON[event.ACLPolicy](st.batch, aclKey(st.policies, id))
}

func (st aclStore) policyByName(name string) (*event.ACLPolicy, error) {
	return findByName(st.batch, st.policies, name, func(p *event.ACLPolicy) string { return p.Name })
}

func (st aclStore) role(id string) (*event.ACLRole, error) {
	return getJSON[event.ACLRole](st.batch, aclKey(st.roles, id))
}

func (st aclStore) roleByName(name string) (*event.ACLRole, error) {
	return findByName(st.batch, st.roles, name, func(r *event.ACLRole) string { return r.Name })
}

func findByName[T any](b *pebble.Batch, area byte, name string, nameOf func(*T) string) (*T, error) {
	var found *T
	err := scanJSON(b.NewIter, []byte{area}, func(v *T) error {
		if strings.EqualFold(nameOf(v), name) {
			found = v
			return errStopScan
		}
		return nil
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return found, err
}

func (st aclStore) putToken(t *aclTokenRecord) error {
	return putJSON(st.batch, aclKey(st.tokens, t.AccessorID), t)
}

// bootstrapIndex is the index of the bootstrap, 0 when none was done.
func (st aclStore) bootstrapIndex() (uint64, error) {
	return readU64(st.batch, areaKey(st.meta, keyACLBootstrap))
}

// emitToken stores t and tells of it, without its secret.
func (st aclStore) saveToken(idx uint64, t *aclTokenRecord, emit func(event.Event)) error {
	t.SecretHash = acl.HashSecret(t.SecretID)
	if err := st.putToken(t); err != nil {
		return err
	}
	pub := t.ACLToken
	emit(event.Event{Type: event.ACLTokenUpdated, Shard: event.ShardSystem, Index: idx, Key: t.AccessorID, ACLToken: &pub})
	return nil
}

// resolveLinks turns links by name into links by ID, checks that each
// exists, and drops duplicates; what names "policy" or "role" in Consul's
// messages.
func resolveLinks(links []event.ACLLink, what string, byID, byName func(string) (string, error)) ([]event.ACLLink, error) {
	var out []event.ACLLink
	seen := map[string]bool{}
	for _, l := range links {
		if l.ID == "" {
			id, err := byName(l.Name)
			if err != nil {
				return nil, err
			}
			if id == "" {
				return nil, failed("No such ACL %s with name %q", what, l.Name)
			}
			l.ID = id
		} else {
			id, err := byID(l.ID)
			if err != nil {
				return nil, err
			}
			if id == "" {
				return nil, failed("No such ACL %s with ID %q", what, l.ID)
			}
			l.ID = id
		}
		// Names are not stored: a policy or role may be renamed.
		l.Name = ""
		if !seen[l.ID] {
			seen[l.ID] = true
			out = append(out, l)
		}
	}
	return out, nil
}

func (st aclStore) policyLinks(links []event.ACLLink) ([]event.ACLLink, error) {
	return resolveLinks(links, "policy",
		func(id string) (string, error) {
			p, err := st.policy(id)
			return idOf(p, err, func(p *event.ACLPolicy) string { return p.ID })
		},
		func(n string) (string, error) {
			p, err := st.policyByName(n)
			return idOf(p, err, func(p *event.ACLPolicy) string { return p.ID })
		})
}

func (st aclStore) roleLinks(links []event.ACLLink) ([]event.ACLLink, error) {
	return resolveLinks(links, "role",
		func(id string) (string, error) {
			r, err := st.role(id)
			return idOf(r, err, func(r *event.ACLRole) string { return r.ID })
		},
		func(n string) (string, error) {
			r, err := st.roleByName(n)
			return idOf(r, err, func(r *event.ACLRole) string { return r.ID })
		})
}

func idOf[T any](v *T, err error, id func(*T) string) (string, error) {
	if err != nil || v == nil {
		return "", err
	}
	return id(v), nil
}

func applyACLTokenSet(st aclStore, idx uint64, now int64, b *command.ACLTokenSetBody, emit func(event.Event)) (*event.ACLToken, error) {
	t := aclTokenRecord{ACLToken: b.Token, SecretID: b.SecretID}
	if t.AccessorID == "" {
		return nil, failed("Missing token AccessorID")
	}
	existing, err := st.token(t.AccessorID)
	if err != nil {
		return nil, err
	}
	if b.Create {
		if existing != nil {
			return nil, failed("Invalid Token: AccessorID is already in use")
		}
		if t.SecretID == "" {
			return nil, failed("Missing token SecretID")
		}
		if other, err := st.tokenBySecret(t.SecretID); err != nil {
			return nil, err
		} else if other != nil {
			return nil, failed("Invalid Token: SecretID is already in use")
		}
		t.CreateIndex = idx
	} else {
		if existing == nil || (existing.ExpirationTime != 0 && existing.ExpirationTime <= now) {
			return nil, failed("Cannot find token %q", t.AccessorID)
		}
		switch {
		case t.SecretID == "":
			t.SecretID = existing.SecretID
		case t.SecretID != existing.SecretID:
			return nil, failed("Changing a tokens SecretID is not permitted")
		}
		if t.Local != existing.Local {
			return nil, failed("cannot toggle local mode of %s", t.AccessorID)
		}
		switch {
		case t.ExpirationTime == 0:
			t.ExpirationTime = existing.ExpirationTime
		case t.ExpirationTime != existing.ExpirationTime:
			return nil, failed("Cannot change expiration time of %s", t.AccessorID)
		}
		t.AccessorID, t.CreateTime, t.CreateIndex = existing.AccessorID, existing.CreateTime, existing.CreateIndex
	}
	if t.Policies, err = st.policyLinks(t.Policies); err != nil {
		return nil, err
	}
	if t.Roles, err = st.roleLinks(t.Roles); err != nil {
		return nil, err
	}
	t.ModifyIndex = idx
	if err := st.saveToken(idx, &t, emit); err != nil {
		return nil, err
	}
	return &t.ACLToken, nil
}

func applyACLTokenDelete(st aclStore, idx uint64, b *command.ACLTokenDeleteBody, emit func(event.Event)) error {
	if strings.EqualFold(b.AccessorID, acl.AnonymousTokenID) {
		return failed("Delete operation not permitted on the anonymous token")
	}
	t, err := st.token(b.AccessorID)
	if err != nil || t == nil {
		// Deleting what is not there is no error, as in Consul.
		return err
	}
	if err := st.batch.Delete(aclKey(st.tokens, t.AccessorID), nil); err != nil {
		return err
	}
	pub := t.ACLToken
	pub.ModifyIndex = idx
	emit(event.Event{Type: event.ACLTokenDeleted, Shard: event.ShardSystem, Index: idx, Key: t.AccessorID, ACLToken: &pub})
	return nil
}

func applyACLPolicySet(st aclStore, idx uint64, b *command.ACLPolicySetBody, emit func(event.Event)) (*event.ACLPolicy, error) {
	p := b.Policy
	if p.Name == "" {
		return nil, failed("Invalid Policy: no Name is set")
	}
	if !validPolicyName.MatchString(p.Name) {
		return nil, failed("Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed")
	}
	existing, err := st.policy(p.ID)
	if err != nil {
		return nil, err
	}
	named, err := st.policyByName(p.Name)
	if err != nil {
		return nil, err
	}
	if b.Create {
		if existing != nil {
			return nil, failed("Invalid Policy: ID is already in use")
		}
		if named != nil {
			return nil, failed("Invalid Policy: A Policy with Name %q already exists", p.Name)
		}
		p.CreateIndex = idx
	} else {
		if existing == nil {
			return nil, failed("cannot find policy %s", p.ID)
		}
		if named != nil && named.ID != existing.ID {
			return nil, failed("Invalid Policy: A policy with name %q already exists", p.Name)
		}
		if existing.ID == acl.GlobalManagementPolicyID {
			if len(p.Datacenters) > 0 {
				return nil, failed("Changing the Datacenters of the builtin global-management policy is not permitted")
			}
			if p.Rules != existing.Rules {
				return nil, failed("Changing the Rules for the builtin global-management policy is not permitted")
			}
		}
		p.ID, p.CreateIndex = existing.ID, existing.CreateIndex
	}
	p.ModifyIndex = idx
	if err := putJSON(st.batch, aclKey(st.policies, p.ID), &p); err != nil {
		return nil, err
	}
	emit(event.Event{Type: event.ACLPolicyUpdated, Shard: event.ShardSystem, Index: idx, Key: p.ID, ACLPolicy: &p})
	return &p, nil
}

func applyACLPolicyDelete(st aclStore, idx uint64, b *command.ACLPolicyDeleteBody, emit func(event.Event)) error {
	if strings.EqualFold(b.ID, acl.GlobalManagementPolicyID) {
		return failed("Delete operation not permitted on the builtin global-management policy")
	}
	p, err := st.policy(b.ID)
	if err != nil || p == nil {
		return err
	}
	if err := st.batch.Delete(aclKey(st.policies, p.ID), nil); err != nil {
		return err
	}
	p.ModifyIndex = idx
	emit(event.Event{Type: event.ACLPolicyDeleted, Shard: event.ShardSystem, Index: idx, Key: p.ID, ACLPolicy: p})
	return nil
}

func applyACLRoleSet(st aclStore, idx uint64, b *command.ACLRoleSetBody, emit func(event.Event)) (*event.ACLRole, error) {
	r := b.Role
	if r.Name == "" {
		return nil, failed("Invalid Role: no Name is set")
	}
	if !validRoleName.MatchString(r.Name) {
		return nil, failed("Invalid Role: invalid Name. Only alphanumeric characters, '-' and '_' are allowed")
	}
	existing, err := st.role(r.ID)
	if err != nil {
		return nil, err
	}
	named, err := st.roleByName(r.Name)
	if err != nil {
		return nil, err
	}
	if b.Create {
		if existing != nil {
			return nil, failed("Invalid Role: ID is already in use")
		}
		if named != nil {
			return nil, failed("Invalid Role: A Role with Name %q already exists", r.Name)
		}
		r.CreateIndex = idx
	} else {
		if existing == nil {
			return nil, failed("cannot find role %s", r.ID)
		}
		if named != nil && named.ID != existing.ID {
			return nil, failed("Invalid Role: A role with name %q already exists", r.Name)
		}
		r.ID, r.CreateIndex = existing.ID, existing.CreateIndex
	}
	if r.Policies, err = st.policyLinks(r.Policies); err != nil {
		return nil, err
	}
	r.ModifyIndex = idx
	if err := putJSON(st.batch, aclKey(st.roles, r.ID), &r); err != nil {
		return nil, err
	}
	emit(event.Event{Type: event.ACLRoleUpdated, Shard: event.ShardSystem, Index: idx, Key: r.ID, ACLRole: &r})
	return &r, nil
}

func applyACLRoleDelete(st aclStore, idx uint64, b *command.ACLRoleDeleteBody, emit func(event.Event)) error {
	r, err := st.role(b.ID)
	if err != nil || r == nil {
		return err
	}
	if err := st.batch.Delete(aclKey(st.roles, r.ID), nil); err != nil {
		return err
	}
	r.ModifyIndex = idx
	emit(event.Event{Type: event.ACLRoleDeleted, Shard: event.ShardSystem, Index: idx, Key: r.ID, ACLRole: r})
	return nil
}

// ensureBuiltins makes the global-management policy and the anonymous
// token if they are missing, as Consul's leader does when ACLs start.
func ensureBuiltins(st aclStore, idx uint64, now int64, emit func(event.Event)) error {
	if p, err := st.policy(acl.GlobalManagementPolicyID); err != nil {
		return err
	} else if p == nil {
		p := event.ACLPolicy{ID: acl.GlobalManagementPolicyID, Name: acl.GlobalManagementPolicyName,
			Description: "Builtin Policy that grants unlimited access", Rules: GlobalManagementRules,
			CreateIndex: idx, ModifyIndex: idx}
		if err := putJSON(st.batch, aclKey(st.policies, p.ID), &p); err != nil {
			return err
		}
		emit(event.Event{Type: event.ACLPolicyUpdated, Shard: event.ShardSystem, Index: idx, Key: p.ID, ACLPolicy: &p})
	}
	if t, err := st.token(acl.AnonymousTokenID); err != nil {
		return err
	} else if t == nil {
		t := aclTokenRecord{ACLToken: event.ACLToken{AccessorID: acl.AnonymousTokenID, Description: "Anonymous Token",
			CreateTime: now, CreateIndex: idx, ModifyIndex: idx}, SecretID: AnonymousSecretID}
		return st.saveToken(idx, &t, emit)
	}
	return nil
}

// managementToken makes a token linked to the global-management policy.
func managementToken(st aclStore, idx uint64, accessor, secret, description string, now int64, emit func(event.Event)) (*event.ACLToken, error) {
	if accessor == "" || secret == "" {
		return nil, failed("Missing token AccessorID or SecretID")
	}
	if t, err := st.token(accessor); err != nil {
		return nil, err
	} else if t != nil {
		return nil, failed("Invalid Token: AccessorID is already in use")
	}
	t := aclTokenRecord{ACLToken: event.ACLToken{AccessorID: accessor, Description: description,
		Policies:   []event.ACLLink{{ID: acl.GlobalManagementPolicyID}},
		CreateTime: now, CreateIndex: idx, ModifyIndex: idx}, SecretID: secret}
	if err := st.saveToken(idx, &t, emit); err != nil {
		return nil, err
	}
	return &t.ACLToken, nil
}

func applyACLBootstrap(st aclStore, idx uint64, b *command.ACLBootstrapBody, emit func(event.Event)) (*event.ACLToken, error) {
	done, err := st.bootstrapIndex()
	if err != nil {
		return nil, err
	}
	if done != 0 && b.ResetIndex != done {
		return nil, failed("ACL bootstrap no longer allowed (reset index: %d)", done)
	}
	if other, err := st.tokenBySecret(b.SecretID); err != nil {
		return nil, err
	} else if other != nil {
		return nil, failed("Invalid Token: SecretID is already in use")
	}
	if err := ensureBuiltins(st, idx, b.CreateTime, emit); err != nil {
		return nil, err
	}
	t, err := managementToken(st, idx, b.AccessorID, b.SecretID, "Bootstrap Token (Global Management)", b.CreateTime, emit)
	if err != nil {
		return nil, err
	}
	if err := st.batch.Set(areaKey(st.meta, keyACLBootstrap), u64Bytes(idx), nil); err != nil {
		return nil, err
	}
	emit(event.Event{Type: event.ACLBootstrapped, Shard: event.ShardSystem, Index: idx, Key: t.AccessorID})
	return t, nil
}

func applyACLInit(st aclStore, idx uint64, b *command.ACLInitBody, emit func(event.Event)) error {
	if err := ensureBuiltins(st, idx, b.CreateTime, emit); err != nil {
		return err
	}
	if b.ManagementSecretID == "" {
		return nil
	}
	if t, err := st.tokenBySecret(b.ManagementSecretID); err != nil || t != nil {
		return err
	}
	if t, err := st.token(b.ManagementAccessorID); err != nil || t != nil {
		return err
	}
	_, err := managementToken(st, idx, b.ManagementAccessorID, b.ManagementSecretID, "Initial Management Token", b.CreateTime, emit)
	return err
}

// applyACL dispatches the ACL commands; ok is false for any other.
func applyACL(st aclStore, idx uint64, cmd command.Command, emit func(event.Event)) (res command.Result, ok bool, err error) {
	var out command.ACLResult
	switch body := cmd.Body.(type) {
	case *command.ACLTokenSetBody:
		out.Token, err = applyACLTokenSet(st, idx, cmd.Time, body, emit)
	case *command.ACLTokenDeleteBody:
		err = applyACLTokenDelete(st, idx, body, emit)
	case *command.ACLPolicySetBody:
		out.Policy, err = applyACLPolicySet(st, idx, body, emit)
	case *command.ACLPolicyDeleteBody:
		err = applyACLPolicyDelete(st, idx, body, emit)
	case *command.ACLRoleSetBody:
		out.Role, err = applyACLRoleSet(st, idx, body, emit)
	case *command.ACLRoleDeleteBody:
		err = applyACLRoleDelete(st, idx, body, emit)
	case *command.ACLBootstrapBody:
		out.Token, err = applyACLBootstrap(st, idx, body, emit)
	case *command.ACLInitBody:
		err = applyACLInit(st, idx, body, emit)
	case *command.ACLReplicateBody:
		err = applyACLReplicate(st, idx, body, emit)
	default:
		return command.Result{}, false, nil
	}
	var refused *refusedError
	if errors.As(err, &refused) {
		return command.Refused(refused.what), true, nil
	}
	if err != nil {
		return command.Result{}, true, err
	}
	return command.Result{Succeeded: true, Txn: &command.KVTxnResult{ACL: &out}}, true, nil
}

// ACLTokenSecret is the SecretID of the token with that AccessorID, as
// this replica has applied it; "" and false when there is none. Only the
// API's token reads (for a caller with acl:write) ask for it.
func (s *StateMachine) ACLTokenSecret(accessor string) (string, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return "", false, ErrClosed
	}
	v, closer, err := s.db.Get(aclKey(areaACLTokens, accessor))
	if errors.Is(err, pebble.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer closer.Close()
	var t aclTokenRecord
	if err := json.Unmarshal(v, &t); err != nil {
		return "", false, err
	}
	return t.SecretID, true, nil
}

// ScanACL reads the ACL areas for the projections: tokens carry their
// SecretHash, never their SecretID.
func (d dbSource) ScanACL(token func(*event.ACLToken) error, policy func(*event.ACLPolicy) error, role func(*event.ACLRole) error) error {
	if token != nil {
		if err := scanJSON(d.r.NewIter, []byte{areaACLTokens}, func(t *aclTokenRecord) error {
			return token(publicToken(t))
		}); err != nil {
			return err
		}
	}
	if policy != nil {
		if err := scanJSON(d.r.NewIter, []byte{areaACLPolicies}, policy); err != nil {
			return err
		}
	}
	if role != nil {
		return scanJSON(d.r.NewIter, []byte{areaACLRoles}, role)
	}
	return nil
}

// withoutSecret is a stored token record without its SecretID.
func withoutSecret(record []byte) ([]byte, error) {
	var t aclTokenRecord
	if err := json.Unmarshal(record, &t); err != nil {
		return nil, err
	}
	t.SecretHash = acl.HashSecret(t.SecretID)
	t.SecretID = ""
	return json.Marshal(t)
}

// publicToken is a stored token as the projections know it: its hash,
// never its secret (which a stream made by ExportWithoutSecrets lacks).
func publicToken(t *aclTokenRecord) *event.ACLToken {
	pub := t.ACLToken
	if t.SecretID != "" {
		pub.SecretHash = acl.HashSecret(t.SecretID)
	}
	return &pub
}

// readSnapshotACL keeps a snapshot record of the ACL areas in memory,
// dropping each token's secret for its hash.
func (m *memSource) readSnapshotACL(area byte, value []byte) error {
	switch area {
	case areaACLTokens:
		var t aclTokenRecord
		if err := json.Unmarshal(value, &t); err != nil {
			return err
		}
		m.aclTokens = append(m.aclTokens, publicToken(&t))
	case areaACLPolicies:
		p := new(event.ACLPolicy)
		if err := json.Unmarshal(value, p); err != nil {
			return err
		}
		m.aclPolicies = append(m.aclPolicies, p)
	case areaACLRoles:
		r := new(event.ACLRole)
		if err := json.Unmarshal(value, r); err != nil {
			return err
		}
		m.aclRoles = append(m.aclRoles, r)
	}
	return nil
}

func (m *memSource) ScanACL(token func(*event.ACLToken) error, policy func(*event.ACLPolicy) error, role func(*event.ACLRole) error) error {
	for _, t := range m.aclTokens {
		if token != nil {
			if err := token(t); err != nil {
				return err
			}
		}
	}
	for _, p := range m.aclPolicies {
		if policy != nil {
			if err := policy(p); err != nil {
				return err
			}
		}
	}
	for _, r := range m.aclRoles {
		if role != nil {
			if err := role(r); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	_ event.ACLSource = dbSource{}
	_ event.ACLSource = (*memSource)(nil)
)
