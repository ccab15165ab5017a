package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/configentry"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// Config entry replication (docs/multi-datacenter.md, "Config entry
// replication"): on the servers of a secondary datacenter (one whose
// primary_datacenter is another), with or without ACLs, the server that
// leads the catalog shard lists the primary's config entries of every
// kind through the gateways with the replication token, waiting on the
// primary's config entry index, and proposes what differs from its own as
// one config-replicate command. The command's apply records the primary's
// index reached in the shard, so a new leader resumes from it.

const (
	// configReplicationWait is a blocking list's wait at the primary:
	// short enough that a server that lost the lead stops soon after.
	configReplicationWait = 10 * time.Second
)

// configSecondary reports whether this agent's datacenter takes its
// config entries from another, the primary.
func (a *Agent) configSecondary() bool {
	p := a.cfg.WAN.PrimaryDatacenter
	return p != "" && p != a.cfg.Datacenter
}

// primaryForHTTP is where the HTTP API sends config entry writes: the
// primary on a secondary, "" otherwise (httpapi.Config).
func (a *Agent) primaryForHTTP() string {
	if !a.configSecondary() {
		return ""
	}
	return a.cfg.WAN.PrimaryDatacenter
}

// rpcRaft is the log as client agents' writes reach it (startRPC). On a
// secondary, their writes of the primary's state are refused: config
// entries, and ACL policies, roles, global tokens and the bootstrap. A
// client agent that knows the primary (its own primary_datacenter) sends
// them there over HTTP (httpapi's forwardConfigWrite and
// forwardToPrimary), and one that does not would write them here, where
// replication would undo them.
func (a *Agent) rpcRaft() rpc.Raft {
	if !a.configSecondary() {
		return a.host
	}
	return secondaryRPCRaft{Raft: a.host, primary: a.cfg.WAN.PrimaryDatacenter, localToken: func(accessor string) bool {
		if a.acl == nil {
			return false
		}
		local := false
		a.acl.Read(false, func(v projections.ACLView) {
			if t := v.Token(accessor); t != nil {
				local = t.Local
			}
		})
		return local
	}}
}

type secondaryRPCRaft struct {
	rpc.Raft
	primary string
	// localToken reports whether this datacenter holds a local token of
	// that AccessorID, which is written here.
	localToken func(accessor string) bool
}

func (r secondaryRPCRaft) ProposeTo(ctx context.Context, shard command.Shard, cmd command.Command) (command.Result, error) {
	what := ""
	switch b := cmd.Body.(type) {
	case *command.ConfigEntrySetBody, *command.ConfigEntryDeleteBody:
		what = "config entries"
	case *command.ACLPolicySetBody, *command.ACLPolicyDeleteBody, *command.ACLRoleSetBody, *command.ACLRoleDeleteBody,
		*command.ACLBootstrapBody:
		what = "ACL policies, roles and the bootstrap"
	case *command.ACLTokenSetBody:
		if !b.Token.Local {
			what = "global ACL tokens"
		}
	case *command.ACLTokenDeleteBody:
		if !r.localToken(b.AccessorID) {
			what = "global ACL tokens"
		}
	}
	if what != "" {
		return command.Result{}, fmt.Errorf("%s are written in the primary datacenter %q: "+
			"set primary_datacenter = %q on this agent to send them there", what, r.primary, r.primary)
	}
	return r.Raft.ProposeTo(ctx, shard, cmd)
}

// startConfigReplication runs the replication loop on a server of a
// secondary datacenter; it works while the server leads the catalog
// shard.
func (a *Agent) startConfigReplication(ctx context.Context) {
	if a.host == nil || !a.configSecondary() {
		return
	}
	a.configReplicationGauges()
	a.startReplication(ctx, replication{shard: command.ShardCatalog, round: a.replicateConfigRound,
		recordError: a.recordConfigReplicationError,
		log:         a.log.With("component", "config-replication", "primary", a.cfg.WAN.PrimaryDatacenter)})
}

// configReplicationStatus is the status this server's replica of the
// catalog shard holds, for this server's primary: a record of another
// primary counts for nothing.
func (a *Agent) configReplicationStatus() (command.ConfigReplicationStatus, error) {
	sm := a.shards[command.ShardCatalog]
	if sm == nil || !a.shardsStarted.Load() {
		return command.ConfigReplicationStatus{}, errors.New("the catalog shard is not started")
	}
	st, err := sm.ConfigReplicationStatus()
	if err != nil {
		return st, err
	}
	if st.SourceDatacenter != a.cfg.WAN.PrimaryDatacenter {
		st = command.ConfigReplicationStatus{SourceDatacenter: a.cfg.WAN.PrimaryDatacenter}
	}
	return st, nil
}

func (a *Agent) recordConfigReplicationError(ctx context.Context, cause error) {
	if !a.host.IsLeader(command.ShardCatalog) {
		return
	}
	a.proposeConfigReplication(ctx, &command.ConfigReplicateBody{SourceDatacenter: a.cfg.WAN.PrimaryDatacenter, Error: cause.Error()})
}

func (a *Agent) proposeConfigReplication(ctx context.Context, body *command.ConfigReplicateBody) error {
	res, err := a.host.Propose(ctx, command.Command{Time: time.Now().UnixNano(), Body: body})
	if err != nil {
		return err
	}
	if !res.Succeeded {
		return fmt.Errorf("replicated config entries refused: %s", res.Refusal)
	}
	return nil
}

// primaryConfigList reads the primary's config entries of kind with the
// replication token, and returns them with the primary's index and
// whether its ACLs left some out.
func (a *Agent) primaryConfigList(ctx context.Context, kind string, q url.Values) ([]map[string]any, uint64, bool, error) {
	u := url.URL{Path: "/v1/config/" + kind, RawQuery: q.Encode()}
	h := http.Header{}
	if t := a.token(tokens.Replication); t != "" {
		h.Set("X-Consul-Token", t)
	}
	primary := a.cfg.WAN.PrimaryDatacenter
	resp := a.forwardHTTP(ctx, &wan.HTTPRequest{Datacenter: primary, Method: http.MethodGet,
		URL: u.RequestURI(), Header: h, Timeout: wan.Timeout(q)})
	if resp.Status != http.StatusOK {
		return nil, 0, false, fmt.Errorf("GET %s at %s: %d %s", u.Path, primary, resp.Status, strings.TrimSpace(string(resp.Body)))
	}
	header := http.Header(resp.Header)
	index, _ := strconv.ParseUint(header.Get("X-Consul-Index"), 10, 64)
	var list []map[string]any
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, 0, false, fmt.Errorf("GET %s at %s: %w", u.Path, primary, err)
	}
	return list, index, header.Get("X-Consul-Results-Filtered-By-ACLs") == "true", nil
}

// replicateConfigRound waits for the primary's config entries to pass the
// index last replicated, then brings this datacenter's to them.
func (a *Agent) replicateConfigRound(ctx context.Context) error {
	prev, err := a.configReplicationStatus()
	if err != nil {
		return err
	}
	since := prev.SourceIndex
	// Every kind shares the primary's config entry index: a blocking list
	// of one kind returns at a change of any. Any server of the primary
	// may answer it (stale), so its index only says that something may
	// have changed.
	_, blocked, _, err := a.primaryConfigList(ctx, configentry.Kinds[0], url.Values{
		"index": {strconv.FormatUint(since, 10)}, "wait": {configReplicationWait.String()}, "stale": {""}})
	if err != nil {
		return err
	}
	if blocked == since && since != 0 {
		return nil
	}
	// The lists are consistent reads (each after a read barrier at the
	// server that answers it): each holds every change up to its index,
	// so every change up to the least of them is in the round.
	body := &command.ConfigReplicateBody{SourceDatacenter: a.cfg.WAN.PrimaryDatacenter}
	for i, kind := range configentry.Kinds {
		remote, index, filtered, err := a.primaryConfigList(ctx, kind, url.Values{"consistent": {""}})
		if err != nil {
			return err
		}
		if i == 0 || index < body.SourceIndex {
			body.SourceIndex = index
		}
		upserts, deletes, err := a.configDiff(kind, remote, filtered)
		if err != nil {
			return err
		}
		body.Upserts = append(body.Upserts, upserts...)
		body.Deletes = append(body.Deletes, deletes...)
	}
	if body.SourceIndex == since {
		return nil
	}
	// The primary's index went back (it was restored, or rebuilt): what
	// it holds now is the truth all the same.
	body.Resync = body.SourceIndex < since
	if !a.host.IsLeader(command.ShardCatalog) {
		return nil
	}
	return a.proposeConfigReplication(ctx, body)
}

// configDiff compares the primary's entries of kind with this
// datacenter's: the entries to write (missing here, or with another body)
// and those to delete (not at the primary). When the primary's ACLs left
// some of its entries out of the list (a replication token that may not
// read them all), nothing is deleted: an entry missing from the list may
// well exist there.
func (a *Agent) configDiff(kind string, remote []map[string]any, filtered bool) ([]event.ConfigEntry, []command.ConfigEntryRef, error) {
	var upserts []event.ConfigEntry
	seen := map[string]bool{}
	for _, m := range remote {
		e, err := configEntryFromAPI(kind, m)
		if err != nil {
			return nil, nil, err
		}
		seen[e.Name] = true
		if local, _, _ := a.configEntries.Get(kind, e.Name, false); local == nil || string(local.Body) != string(e.Body) {
			upserts = append(upserts, e)
		}
	}
	var deletes []command.ConfigEntryRef
	if filtered {
		a.log.Warn("config entry replication: the replication token may not read every entry at the primary; none is deleted here",
			"kind", kind, "primary", a.cfg.WAN.PrimaryDatacenter)
		return upserts, nil, nil
	}
	local, _, _ := a.configEntries.List(kind, false)
	for _, e := range local {
		if !seen[e.Name] {
			deletes = append(deletes, command.ConfigEntryRef{Kind: kind, Name: e.Name})
		}
	}
	return upserts, deletes, nil
}

// configEntryFromAPI is an entry of the primary's list as the state
// stores it: the primary's stored body is the answer without its indexes
// (configentry.WithIndexes), so the same JSON again, byte for byte.
func configEntryFromAPI(kind string, m map[string]any) (event.ConfigEntry, error) {
	name, _ := m["Name"].(string)
	if k, _ := m["Kind"].(string); k != kind || name == "" {
		return event.ConfigEntry{}, fmt.Errorf("the primary listed an entry of kind %q and name %q among its %s entries", k, name, kind)
	}
	delete(m, "CreateIndex")
	delete(m, "ModifyIndex")
	body, err := json.Marshal(m)
	if err != nil {
		return event.ConfigEntry{}, err
	}
	return event.ConfigEntry{Kind: kind, Name: name, Body: body}, nil
}

// configReplicationGauges report the replication where it runs (the
// leader of the catalog shard), with Consul's names:
// consul.leader.replication.config-entries.status is 1 when the last
// round succeeded and 0 when it failed, ...index the primary's index
// reached.
func (a *Agent) configReplicationGauges() {
	status := func() (command.ConfigReplicationStatus, bool) {
		if !a.host.IsLeader(command.ShardCatalog) {
			return command.ConfigReplicationStatus{}, false
		}
		st, err := a.configReplicationStatus()
		return st, err == nil
	}
	a.metrics.Gauge([]string{"leader", "replication", "config-entries", "status"}, func() (float32, bool) {
		st, ok := status()
		if !ok || (st.LastSuccess == 0 && st.LastError == 0) {
			return 0, false
		}
		if st.LastError > st.LastSuccess {
			return 0, true
		}
		return 1, true
	})
	a.metrics.Gauge([]string{"leader", "replication", "config-entries", "index"}, func() (float32, bool) {
		st, ok := status()
		return float32(st.SourceIndex), ok
	})
}

// configReplicationStats is the config_entry_replication section of
// /v1/agent/self's Stats on a server of a secondary datacenter, nil
// elsewhere: every server reports the status its replica holds, and
// whether it runs the replication (leads the catalog shard).
func (a *Agent) configReplicationStats() map[string]string {
	if a.host == nil || !a.configSecondary() {
		return nil
	}
	st, err := a.configReplicationStatus()
	out := map[string]string{
		"enabled":            "true",
		"running":            strconv.FormatBool(a.host.IsLeader(command.ShardCatalog)),
		"source_datacenter":  a.cfg.WAN.PrimaryDatacenter,
		"replicated_index":   strconv.FormatUint(st.SourceIndex, 10),
		"last_success":       statTime(st.LastSuccess),
		"last_error":         statTime(st.LastError),
		"last_error_message": st.LastErrorMessage,
	}
	if err != nil {
		out["last_error_message"] = err.Error()
	}
	return out
}

// statTime is a time kept as Unix nanoseconds, in RFC 3339; "" for never.
func statTime(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}
