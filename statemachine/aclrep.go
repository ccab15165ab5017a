package statemachine

import (
	"strings"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// ACL replication on a secondary datacenter: the leader of its system
// shard proposes the primary's records as they are, and the status of the
// replication, which lives here so that a new leader resumes from the
// indexes it names.
const areaACLReplication byte = 0x21 // keyACLReplicationStatus -> JSON command.ACLReplicationStatus

const keyACLReplicationStatus = "status"

// applyACLReplicate stores a batch of the primary's records. Unlike the
// API's writes it checks no links (a role may arrive before a policy it
// names, as Consul's replication allows) and lets the primary's record
// win a name or secret a record of this datacenter holds: the primary is
// the authority on global records. Local tokens are never replaced nor
// deleted. Indexes are this shard's, as a replicated record's are in
// Consul.
func applyACLReplicate(st aclStore, idx uint64, b *command.ACLReplicateBody, emit func(event.Event)) error {
	for i := range b.Policies {
		if err := replicatePolicy(st, idx, b.Policies[i], emit); err != nil {
			return err
		}
	}
	for i := range b.Roles {
		if err := replicateRole(st, idx, b.Roles[i], emit); err != nil {
			return err
		}
	}
	for i := range b.Tokens {
		if err := replicateToken(st, idx, &b.Tokens[i], emit); err != nil {
			return err
		}
	}
	for _, id := range b.DeleteTokens {
		t, err := st.token(id)
		if err != nil {
			return err
		}
		if t == nil || t.Local || strings.EqualFold(t.AccessorID, acl.AnonymousTokenID) {
			continue
		}
		if err := applyACLTokenDelete(st, idx, &command.ACLTokenDeleteBody{AccessorID: t.AccessorID}, emit); err != nil {
			return err
		}
	}
	for _, id := range b.DeleteRoles {
		if err := applyACLRoleDelete(st, idx, &command.ACLRoleDeleteBody{ID: id}, emit); err != nil {
			return err
		}
	}
	for _, id := range b.DeletePolicies {
		if strings.EqualFold(id, acl.GlobalManagementPolicyID) {
			continue
		}
		if err := applyACLPolicyDelete(st, idx, &command.ACLPolicyDeleteBody{ID: id}, emit); err != nil {
			return err
		}
	}
	return putJSON(st.batch, areaKey(st.replication, keyACLReplicationStatus), &b.Status)
}

// linksByID keeps a link's ID alone, as the state stores links.
func linksByID(links []event.ACLLink) []event.ACLLink {
	var out []event.ACLLink
	for _, l := range links {
		if l.ID != "" {
			out = append(out, event.ACLLink{ID: l.ID})
		}
	}
	return out
}

func replicatePolicy(st aclStore, idx uint64, p event.ACLPolicy, emit func(event.Event)) error {
	if p.ID == "" {
		return nil
	}
	if named, err := st.policyByName(p.Name); err != nil {
		return err
	} else if named != nil && !strings.EqualFold(named.ID, p.ID) {
		if err := applyACLPolicyDelete(st, idx, &command.ACLPolicyDeleteBody{ID: named.ID}, emit); err != nil {
			return err
		}
	}
	existing, err := st.policy(p.ID)
	if err != nil {
		return err
	}
	p.CreateIndex, p.ModifyIndex = idx, idx
	if existing != nil {
		p.CreateIndex = existing.CreateIndex
	}
	if err := putJSON(st.batch, aclKey(st.policies, p.ID), &p); err != nil {
		return err
	}
	emit(event.Event{Type: event.ACLPolicyUpdated, Shard: event.ShardSystem, Index: idx, Key: p.ID, ACLPolicy: &p})
	return nil
}

func replicateRole(st aclStore, idx uint64, r event.ACLRole, emit func(event.Event)) error {
	if r.ID == "" {
		return nil
	}
	if named, err := st.roleByName(r.Name); err != nil {
		return err
	} else if named != nil && !strings.EqualFold(named.ID, r.ID) {
		if err := applyACLRoleDelete(st, idx, &command.ACLRoleDeleteBody{ID: named.ID}, emit); err != nil {
			return err
		}
	}
	existing, err := st.role(r.ID)
	if err != nil {
		return err
	}
	r.Policies = linksByID(r.Policies)
	r.CreateIndex, r.ModifyIndex = idx, idx
	if existing != nil {
		r.CreateIndex = existing.CreateIndex
	}
	if err := putJSON(st.batch, aclKey(st.roles, r.ID), &r); err != nil {
		return err
	}
	emit(event.Event{Type: event.ACLRoleUpdated, Shard: event.ShardSystem, Index: idx, Key: r.ID, ACLRole: &r})
	return nil
}

func replicateToken(st aclStore, idx uint64, rt *command.ACLReplicatedToken, emit func(event.Event)) error {
	t := aclTokenRecord{ACLToken: rt.Token, SecretID: rt.SecretID}
	if t.AccessorID == "" || t.SecretID == "" {
		return nil
	}
	existing, err := st.token(t.AccessorID)
	if err != nil {
		return err
	}
	if existing != nil && existing.Local {
		// This datacenter's own token keeps its AccessorID.
		return nil
	}
	if existing == nil || existing.SecretID != t.SecretID {
		other, err := st.tokenBySecret(t.SecretID)
		if err != nil {
			return err
		}
		if other != nil && !strings.EqualFold(other.AccessorID, t.AccessorID) {
			if other.Local {
				return nil
			}
			if err := applyACLTokenDelete(st, idx, &command.ACLTokenDeleteBody{AccessorID: other.AccessorID}, emit); err != nil {
				return err
			}
		}
	}
	t.Local = false
	t.Policies, t.Roles = linksByID(t.Policies), linksByID(t.Roles)
	t.CreateIndex, t.ModifyIndex = idx, idx
	if existing != nil {
		t.CreateIndex = existing.CreateIndex
	}
	return st.saveToken(idx, &t, emit)
}

// ACLReplicationStatus is the replication status as this replica of the
// system shard has applied it; the zero status when none was recorded.
func (s *StateMachine) ACLReplicationStatus() (command.ACLReplicationStatus, error) {
	st, err := readRecord[command.ACLReplicationStatus](s, areaKey(areaACLReplication, keyACLReplicationStatus))
	if st == nil {
		return command.ACLReplicationStatus{}, err
	}
	return *st, err
}
