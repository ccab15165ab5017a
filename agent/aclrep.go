package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// ACL replication (docs/multi-datacenter.md, "ACL replication"): in a
// secondary datacenter (primary_datacenter names another one) with ACLs
// on, the server that leads the system shard reads the primary's
// policies, roles and, with acl.enable_token_replication, global tokens
// through the gateways with the replication token, and proposes what
// differs as acl-replicate commands. The status lives in the shard, so a
// new leader resumes from the index the last one reached.

// ACL replication's types, as Consul names them.
const (
	replicationTypePolicies = "policies"
	replicationTypeTokens   = "tokens"
)

const (
	// aclReplicationWait is a blocking read's wait at the primary: short
	// enough that a server that lost the lead stops soon after.
	aclReplicationWait = 10 * time.Second
	// aclReplicationBatch bounds the records of one command.
	aclReplicationBatch = 256
)

// aclSecondary reports whether this agent's datacenter takes its ACL state
// from another, the primary.
func (a *Agent) aclSecondary() bool {
	p := a.cfg.WAN.PrimaryDatacenter
	return a.cfg.ACL.Enabled && p != "" && p != a.cfg.Datacenter
}

// aclPrimaryForHTTP is where the HTTP API sends global ACL writes:
// the primary on a secondary, "" otherwise (httpapi.Config).
func (a *Agent) aclPrimaryForHTTP() string {
	if !a.aclSecondary() {
		return ""
	}
	return a.cfg.WAN.PrimaryDatacenter
}

func (a *Agent) aclReplicationType() string {
	if a.cfg.ACL.EnableTokenReplication {
		return replicationTypeTokens
	}
	return replicationTypePolicies
}

// ACLReplication implements httpapi.ACLReplication.
func (a *Agent) ACLReplication() (command.ACLReplicationStatus, bool, bool, error) {
	sm := a.shards[command.ShardSystem]
	if a.host == nil || sm == nil || !a.aclSecondary() {
		return command.ACLReplicationStatus{}, false, false, nil
	}
	st, err := sm.ACLReplicationStatus()
	_, led := a.host.Leader(command.ShardSystem)
	if st.SourceDatacenter == "" {
		st.SourceDatacenter = a.cfg.WAN.PrimaryDatacenter
		st.ReplicationType = a.aclReplicationType()
	}
	return st, true, led, err
}

// startACLReplication runs the replication loop on a server of a
// secondary datacenter; it works while the server leads the system shard.
func (a *Agent) startACLReplication(ctx context.Context) {
	if a.host == nil || !a.aclSecondary() {
		return
	}
	a.startReplication(ctx, replication{shard: command.ShardSystem, round: a.replicateACLRound,
		recordError: a.recordACLReplicationError,
		log:         a.log.With("component", "acl-replication", "primary", a.cfg.WAN.PrimaryDatacenter)})
}

// replicationStatus is the status the system shard holds, with this
// server's source and type: a change of either starts again from index 0.
func (a *Agent) replicationStatus() (command.ACLReplicationStatus, error) {
	sm := a.shards[command.ShardSystem]
	if sm == nil {
		return command.ACLReplicationStatus{}, errors.New("this server has no system shard")
	}
	st, err := sm.ACLReplicationStatus()
	if err != nil {
		return st, err
	}
	if st.SourceDatacenter != a.cfg.WAN.PrimaryDatacenter || st.ReplicationType != a.aclReplicationType() {
		st = command.ACLReplicationStatus{LastError: st.LastError, LastErrorMessage: st.LastErrorMessage}
	}
	st.SourceDatacenter, st.ReplicationType = a.cfg.WAN.PrimaryDatacenter, a.aclReplicationType()
	return st, nil
}

func (a *Agent) recordACLReplicationError(ctx context.Context, cause error) {
	st, err := a.replicationStatus()
	if err != nil || !a.host.IsLeader(command.ShardSystem) {
		return
	}
	st.LastError, st.LastErrorMessage = time.Now().UnixNano(), cause.Error()
	a.proposeReplication(ctx, &command.ACLReplicateBody{Status: st})
}

func (a *Agent) proposeReplication(ctx context.Context, body *command.ACLReplicateBody) error {
	res, err := a.host.Propose(ctx, command.Command{Time: time.Now().UnixNano(), Body: body})
	if err != nil {
		return err
	}
	if !res.Succeeded {
		return fmt.Errorf("replicated ACL records refused: %s", res.Refusal)
	}
	return nil
}

// remoteACLPolicy, remoteACLRole and remoteACLToken are the primary's
// records as its HTTP API answers them.
type remoteACLPolicy struct {
	event.ACLPolicy
	Hash []byte
}

type remoteACLRole struct {
	event.ACLRole
	Hash []byte
}

type remoteACLToken struct {
	AccessorID        string
	SecretID          string
	Description       string
	Policies          []event.ACLLink
	Roles             []event.ACLLink
	ServiceIdentities []event.ACLServiceIdentity
	NodeIdentities    []event.ACLNodeIdentity
	Local             bool
	ExpirationTime    *time.Time
	CreateTime        time.Time
	Hash              []byte
}

func (t *remoteACLToken) record() command.ACLReplicatedToken {
	out := command.ACLReplicatedToken{SecretID: t.SecretID, Token: event.ACLToken{AccessorID: t.AccessorID,
		Description: t.Description, Policies: t.Policies, Roles: t.Roles, ServiceIdentities: t.ServiceIdentities,
		NodeIdentities: t.NodeIdentities, CreateTime: t.CreateTime.UnixNano()}}
	if t.ExpirationTime != nil {
		out.Token.ExpirationTime = t.ExpirationTime.UnixNano()
	}
	return out
}

// errRedactedSecrets: the primary hid the tokens' secrets, which it shows
// only to a token with acl:write.
var errRedactedSecrets = errors.New("the replication token may not read the primary's token secrets: token replication needs acl = \"write\"")

// primaryGet reads path at the primary with the replication token into
// out, and returns the primary's index.
func (a *Agent) primaryGet(ctx context.Context, path string, q url.Values, out any) (uint64, error) {
	u := url.URL{Path: path, RawQuery: q.Encode()}
	h := http.Header{}
	if t := a.token(tokens.Replication); t != "" {
		h.Set("X-Consul-Token", t)
	}
	resp := a.forwardHTTP(ctx, &wan.HTTPRequest{Datacenter: a.cfg.WAN.PrimaryDatacenter, Method: http.MethodGet,
		URL: u.RequestURI(), Header: h, Timeout: wan.Timeout(q)})
	if resp.Status != http.StatusOK {
		return 0, fmt.Errorf("GET %s at %s: %d %s", path, a.cfg.WAN.PrimaryDatacenter, resp.Status, strings.TrimSpace(string(resp.Body)))
	}
	index, _ := strconv.ParseUint(http.Header(resp.Header).Get("X-Consul-Index"), 10, 64)
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return 0, fmt.Errorf("GET %s at %s: %w", path, a.cfg.WAN.PrimaryDatacenter, err)
	}
	return index, nil
}

// replicateACLRound waits for the primary's ACL state to pass the index
// last replicated, then brings this datacenter's to it.
func (a *Agent) replicateACLRound(ctx context.Context) error {
	prev, err := a.replicationStatus()
	if err != nil {
		return err
	}
	since := prev.ReplicatedIndex
	var policies []remoteACLPolicy
	index, err := a.primaryGet(ctx, "/v1/acl/policies", url.Values{"index": {strconv.FormatUint(since, 10)},
		"wait": {aclReplicationWait.String()}, "stale": {""}}, &policies)
	if err != nil {
		return err
	}
	if index == since && since != 0 {
		return nil
	}
	var roles []remoteACLRole
	if _, err := a.primaryGet(ctx, "/v1/acl/roles", url.Values{"stale": {""}}, &roles); err != nil {
		return err
	}
	var remoteTokens []remoteACLToken
	replicateTokens := a.cfg.ACL.EnableTokenReplication
	if replicateTokens {
		if _, err := a.primaryGet(ctx, "/v1/acl/tokens", url.Values{"stale": {""}}, &remoteTokens); err != nil {
			return err
		}
	}

	var body command.ACLReplicateBody
	var fetch []string
	remotePolicies := map[string]bool{}
	remoteRoles := map[string]bool{}
	remoteGlobal := map[string]bool{}
	a.acl.Read(false, func(v projections.ACLView) {
		for _, p := range policies {
			remotePolicies[strings.ToLower(p.ID)] = true
			if local := v.Policy(p.ID); local == nil || !bytes.Equal(httpapi.ACLPolicyHash(local), p.Hash) {
				fetch = append(fetch, p.ID)
			}
		}
		for _, p := range v.Policies() {
			if !remotePolicies[strings.ToLower(p.ID)] && !strings.EqualFold(p.ID, acl.GlobalManagementPolicyID) {
				body.DeletePolicies = append(body.DeletePolicies, p.ID)
			}
		}
		for _, r := range roles {
			remoteRoles[strings.ToLower(r.ID)] = true
			r.Policies = linkIDs(r.Policies)
			if local := v.Role(r.ID); local == nil || !bytes.Equal(httpapi.ACLRoleHash(local), httpapi.ACLRoleHash(&r.ACLRole)) {
				body.Roles = append(body.Roles, r.ACLRole)
			}
		}
		for _, r := range v.Roles() {
			if !remoteRoles[strings.ToLower(r.ID)] {
				body.DeleteRoles = append(body.DeleteRoles, r.ID)
			}
		}
		if !replicateTokens {
			return
		}
		for i := range remoteTokens {
			t := &remoteTokens[i]
			if t.Local {
				continue
			}
			if t.SecretID == "" || t.SecretID == "<hidden>" {
				err = errRedactedSecrets
				return
			}
			remoteGlobal[strings.ToLower(t.AccessorID)] = true
			rec := t.record()
			rec.Token.Policies, rec.Token.Roles = linkIDs(rec.Token.Policies), linkIDs(rec.Token.Roles)
			local := v.Token(t.AccessorID)
			if local == nil || local.SecretHash != acl.HashSecret(t.SecretID) ||
				!bytes.Equal(httpapi.ACLTokenHash(local), httpapi.ACLTokenHash(&rec.Token)) {
				body.Tokens = append(body.Tokens, rec)
			}
		}
		for _, t := range v.Tokens() {
			if !t.Local && !remoteGlobal[strings.ToLower(t.AccessorID)] && !strings.EqualFold(t.AccessorID, acl.AnonymousTokenID) {
				body.DeleteTokens = append(body.DeleteTokens, t.AccessorID)
			}
		}
	})
	if err != nil {
		return err
	}
	for _, id := range fetch {
		var p remoteACLPolicy
		if _, err := a.primaryGet(ctx, "/v1/acl/policy/"+url.PathEscape(id), url.Values{"stale": {""}}, &p); err != nil {
			if strings.Contains(err.Error(), acl.ErrNotFound.Error()) {
				// Deleted since the list: the next round sees it gone.
				continue
			}
			return err
		}
		body.Policies = append(body.Policies, p.ACLPolicy)
	}

	next := prev
	next.ReplicatedIndex, next.ReplicatedRoleIndex = index, index
	if replicateTokens {
		next.ReplicatedTokenIndex = index
	}
	next.LastSuccess = time.Now().UnixNano()
	if !a.host.IsLeader(command.ShardSystem) {
		return nil
	}
	return a.proposeReplicationBatches(ctx, body, prev, next)
}

// linkIDs keeps links by ID alone, as the state stores them.
func linkIDs(links []event.ACLLink) []event.ACLLink {
	var out []event.ACLLink
	for _, l := range links {
		if l.ID != "" {
			out = append(out, event.ACLLink{ID: l.ID})
		}
	}
	return out
}

// proposeReplicationBatches proposes body in commands of at most
// aclReplicationBatch records: all but the last keep the previous status,
// so that a round cut short is done again from its start.
func (a *Agent) proposeReplicationBatches(ctx context.Context, body command.ACLReplicateBody, prev, next command.ACLReplicationStatus) error {
	for {
		batch := command.ACLReplicateBody{Status: prev}
		room := aclReplicationBatch
		take := func(n int) int { n = min(n, room); room -= n; return n }
		n := take(len(body.Policies))
		batch.Policies, body.Policies = body.Policies[:n], body.Policies[n:]
		n = take(len(body.Roles))
		batch.Roles, body.Roles = body.Roles[:n], body.Roles[n:]
		n = take(len(body.Tokens))
		batch.Tokens, body.Tokens = body.Tokens[:n], body.Tokens[n:]
		n = take(len(body.DeleteTokens))
		batch.DeleteTokens, body.DeleteTokens = body.DeleteTokens[:n], body.DeleteTokens[n:]
		n = take(len(body.DeleteRoles))
		batch.DeleteRoles, body.DeleteRoles = body.DeleteRoles[:n], body.DeleteRoles[n:]
		n = take(len(body.DeletePolicies))
		batch.DeletePolicies, body.DeletePolicies = body.DeletePolicies[:n], body.DeletePolicies[n:]
		last := len(body.Policies)+len(body.Roles)+len(body.Tokens)+len(body.DeleteTokens)+len(body.DeleteRoles)+len(body.DeletePolicies) == 0
		if last {
			batch.Status = next
		}
		if err := a.proposeReplication(ctx, &batch); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}
