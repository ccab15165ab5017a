package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/natsauth"
	"github.com/heraldhq/herald/statemachine"
	"github.com/heraldhq/herald/watch"
)

// The event feed of a datacenter for the others (herald.<dc>.rpc.events,
// relayed from client agents on herald.<dc>.rpc.wan.events), and the KV
// replication that follows it: docs/multi-datacenter.md.

func relaySubjectEvents(dc string) string { return "herald." + dc + ".rpc.wan.events" }

// serveEvents answers event feed requests on conn: on the gateway, for
// this datacenter (wan.SubjectEvents); on the servers' NATS, the client
// agents' requests for any datacenter (relaySubjectEvents).
func (a *Agent) serveEvents(conn *nats.Conn, subject string) (func(), error) {
	return wan.ServeEvents(conn, subject, func(req *wan.EventsRequest) *wan.EventsResponse {
		resp, err := a.FetchEvents(context.Background(), req)
		if err != nil {
			return &wan.EventsResponse{Error: err.Error(), Status: http.StatusInternalServerError}
		}
		return resp
	}, a.log)
}

// FetchEvents answers a request for a batch of a datacenter's events: this
// one's from its stream; another's through a server of it (on a client
// agent, through a server of this one). An answer with Error set is the
// answering datacenter's refusal; an error, that none could answer (for a
// datacenter out of reach, wan.ErrNoPath).
func (a *Agent) FetchEvents(ctx context.Context, req *wan.EventsRequest) (*wan.EventsResponse, error) {
	b := req.Bounded()
	req = &b
	req.Datacenter = strings.ToLower(req.Datacenter)
	if req.Datacenter == "" {
		req.Datacenter = a.cfg.Datacenter
	}
	if a.client != nil {
		nc := a.clientNATS.Load()
		if nc == nil {
			return nil, errNoServersYet
		}
		return wan.SendEvents(ctx, nc, relaySubjectEvents(a.cfg.Datacenter), req)
	}
	if req.Datacenter == a.cfg.Datacenter {
		return a.answerEvents(ctx, req), nil
	}
	if a.wan.gateway == nil || !a.knownDatacenter(req.Datacenter) || !a.reachable(req.Datacenter) {
		return nil, wan.ErrNoPath
	}
	return wan.SendEvents(ctx, a.wan.gateway.Conn(), wan.SubjectEvents(req.Datacenter), req)
}

// answerEvents reads a batch from this server's event stream, keeping the
// events the request's token may read, as its NATS connection could
// subscribe to their subjects.
func (a *Agent) answerEvents(ctx context.Context, req *wan.EventsRequest) *wan.EventsResponse {
	refuse := func(status int, format string, args ...any) *wan.EventsResponse {
		return &wan.EventsResponse{Error: fmt.Sprintf(format, args...), Status: status, Last: req.After}
	}
	switch req.Shard {
	case event.ShardKV, event.ShardCatalog, event.ShardSystem:
	default:
		return refuse(http.StatusBadRequest, "unknown shard %q: kv, catalog or system", req.Shard)
	}
	if req.Prefix != "" && req.Shard != event.ShardKV {
		return refuse(http.StatusBadRequest, "a key prefix is for the kv shard")
	}
	mayRead := func(string) bool { return true }
	if a.cfg.ACL.Enabled {
		id, err := a.acl.Resolve(req.Token)
		if err != nil {
			return refuse(http.StatusForbidden, "%s", err)
		}
		mayRead = natsauth.ReadFilter(a.cfg.Datacenter, id.Authorizer)
	}
	if req.Snapshot {
		return a.answerSnapshot(req, mayRead)
	}
	nc := a.natsConn
	if nc == nil {
		return refuse(http.StatusInternalServerError, "this server has no event stream")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return refuse(http.StatusInternalServerError, "%s", err)
	}
	ctx, cancel := context.WithTimeout(ctx, req.Wait+5*time.Second)
	defer cancel()
	if req.Newest {
		last, err := watch.LastIndex(ctx, js, a.cfg.Datacenter, req.Shard)
		if err != nil {
			return refuse(http.StatusInternalServerError, "%s", err)
		}
		return &wan.EventsResponse{Last: last}
	}
	res, err := watch.Fetch(ctx, js, a.cfg.Datacenter, watch.FetchRequest{
		Shard: req.Shard, After: req.After, MaxEvents: req.MaxEvents, MaxBytes: req.MaxBytes, Wait: req.Wait,
		Keep: func(ev event.Event) bool {
			if req.Prefix != "" && (ev.KV == nil || !strings.HasPrefix(ev.Key, req.Prefix)) {
				return false
			}
			return mayRead(watch.Subject(a.cfg.Datacenter, ev))
		},
	})
	var gap *watch.GapError
	if errors.As(err, &gap) {
		return &wan.EventsResponse{Last: req.After, Gap: &wan.EventsGap{After: gap.After, Next: gap.Next, Detail: gap.Detail}}
	}
	if err != nil {
		return refuse(http.StatusInternalServerError, "%s", err)
	}
	return &wan.EventsResponse{Events: res.Events, Last: res.Last}
}

// maxSnapshotBytes bounds a snapshot answer: one NATS message between
// datacenters.
const maxSnapshotBytes = 6 << 20

// answerSnapshot answers a Snapshot request: the KV entries under the
// prefix that the token may read, and the index of the kv shard's last
// change, from this server's projection. Every event up to that index is
// in the entries, so following the events after it misses nothing (an
// event after it that the entries already hold applies again harmlessly).
func (a *Agent) answerSnapshot(req *wan.EventsRequest, mayRead func(string) bool) *wan.EventsResponse {
	if req.Shard != event.ShardKV {
		return &wan.EventsResponse{Error: "a snapshot is of the kv shard", Status: http.StatusBadRequest, Last: req.After}
	}
	index := a.kv.Index()
	entries, _, _ := a.kv.List(req.Prefix, false)
	out := &wan.EventsResponse{Last: index}
	size := 0
	for _, e := range entries {
		if !mayRead(watch.Subject(a.cfg.Datacenter, event.Event{Type: event.KVUpdated, Shard: event.ShardKV, Key: e.Key, KV: e})) {
			continue
		}
		size += len(e.Key) + len(e.Value) + 64
		if size > maxSnapshotBytes {
			return &wan.EventsResponse{Error: fmt.Sprintf("the keys under %q are over %d MiB, more than one answer carries", req.Prefix, maxSnapshotBytes>>20),
				Status: http.StatusRequestEntityTooLarge, Last: req.After}
		}
		out.KV = append(out.KV, e.Clone())
	}
	return out
}

// kvReplicationLeaderCheck is how often a server looks whether it leads
// the kv shard, and so runs the replications.
const kvReplicationLeaderCheck = 250 * time.Millisecond

// kvReplicationWait is how long one pull waits for the source's next
// change: short enough that a server that lost its leadership stops soon.
const kvReplicationWait = 2 * time.Second

// kvReplicationBackoff bounds the wait after a failure.
const kvReplicationBackoff = 2 * time.Second

// kvReplicator runs one kv_replication block where this server leads the
// kv shard.
type kvReplicator struct {
	a   *Agent
	cfg config.KVReplication

	mu      sync.Mutex
	leading bool
	// applied counts the changes this server's batches applied.
	applied   uint64
	lastErr   string
	lastErrAt time.Time
}

// KVReplicationStatus is one replication as /v1/agent/self reports it
// (KVReplication).
type KVReplicationStatus struct {
	SourceDatacenter  string
	Prefix            string
	DestinationPrefix string
	// SourceIndex is the source's index every change up to which has
	// applied here, as this server's replica has it; ReplicatedIndex this
	// datacenter's index of the last batch, and ReplicatedAt its time.
	SourceIndex     uint64
	ReplicatedIndex uint64
	ReplicatedAt    time.Time `json:",omitempty"`
	// Running says this server runs the replication (it leads the kv
	// shard); AppliedChanges counts the changes its batches applied.
	Running        bool
	AppliedChanges uint64
	LastError      string    `json:",omitempty"`
	LastErrorTime  time.Time `json:",omitempty"`
}

// startKVReplication starts a replicator per kv_replication block; each
// works only while this server leads the kv shard.
func (a *Agent) startKVReplication(ctx context.Context) {
	if a.host == nil {
		return
	}
	for _, c := range a.cfg.KVReplication {
		r := &kvReplicator{a: a, cfg: c}
		a.kvReplicators = append(a.kvReplicators, r)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			r.run(ctx)
		}()
	}
}

// kvReplicationStatus is the status of every replication, nil without any.
func (a *Agent) kvReplicationStatus() []KVReplicationStatus {
	if len(a.kvReplicators) == 0 {
		return nil
	}
	out := make([]KVReplicationStatus, 0, len(a.kvReplicators))
	for _, r := range a.kvReplicators {
		s := KVReplicationStatus{SourceDatacenter: r.cfg.SourceDatacenter, Prefix: r.cfg.Prefix, DestinationPrefix: r.cfg.DestinationPrefix}
		if p, err := r.progress(); err == nil && p != nil {
			s.SourceIndex, s.ReplicatedIndex, s.ReplicatedAt = p.SourceIndex, p.Index, time.Unix(0, p.Time).UTC()
		}
		r.mu.Lock()
		s.Running, s.AppliedChanges, s.LastError, s.LastErrorTime = r.leading, r.applied, r.lastErr, r.lastErrAt
		r.mu.Unlock()
		out = append(out, s)
	}
	return out
}

func (r *kvReplicator) run(ctx context.Context) {
	t := time.NewTicker(kvReplicationLeaderCheck)
	defer t.Stop()
	for {
		if r.a.shardsStarted.Load() && r.a.host.IsLeader(command.ShardKV) {
			r.setLeading(true)
			r.lead(ctx)
			r.setLeading(false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *kvReplicator) setLeading(on bool) {
	r.mu.Lock()
	r.leading = on
	r.mu.Unlock()
}

// fail records and logs a failure, and waits a little before the next
// attempt.
func (r *kvReplicator) fail(ctx context.Context, what string, err error) {
	r.mu.Lock()
	r.lastErr, r.lastErrAt = fmt.Sprintf("%s: %v", what, err), time.Now().UTC()
	r.mu.Unlock()
	r.a.log.Error("kv replication: "+what, "source_datacenter", r.cfg.SourceDatacenter, "prefix", r.cfg.Prefix,
		"destination_prefix", r.cfg.DestinationPrefix, "error", err)
	select {
	case <-ctx.Done():
	case <-time.After(kvReplicationBackoff):
	}
}

// progress is the source index recorded in this server's replica.
func (r *kvReplicator) progress() (*statemachine.KVReplicationProgress, error) {
	if !r.a.shardsStarted.Load() {
		return nil, errors.New("the kv shard is not started")
	}
	return r.a.shards[command.ShardKV].KVReplicationProgress(r.cfg.SourceDatacenter, r.cfg.Prefix, r.cfg.DestinationPrefix)
}

func (r *kvReplicator) token() string {
	if r.cfg.Token != "" {
		return r.cfg.Token
	}
	return r.a.token(tokens.Replication)
}

// lead replicates while this server leads the kv shard. It starts from
// the source index the shard has recorded, after a read barrier (so that
// it has every batch a former leader committed); a batch refused because
// the record moved starts it over from the record.
func (r *kvReplicator) lead(ctx context.Context) {
	for ctx.Err() == nil && r.a.host.IsLeader(command.ShardKV) {
		if err := r.a.host.ReadIndex(ctx, command.ShardKV); err != nil {
			r.fail(ctx, "read barrier", err)
			continue
		}
		p, err := r.progress()
		if err != nil {
			r.fail(ctx, "read progress", err)
			continue
		}
		var recorded uint64
		if p != nil {
			recorded = p.SourceIndex
		}
		if recorded == 0 {
			// The first copy: the keys the source has now, then the
			// changes after them.
			var ok bool
			if recorded, ok = r.copyAll(ctx, recorded); !ok {
				continue
			}
		}
		r.follow(ctx, recorded)
	}
}

// follow pulls and applies batches from recorded on, until a batch is
// refused or this server stops leading.
func (r *kvReplicator) follow(ctx context.Context, recorded uint64) {
	after := recorded
	for ctx.Err() == nil && r.a.host.IsLeader(command.ShardKV) {
		resp, err := r.a.FetchEvents(ctx, &wan.EventsRequest{Datacenter: r.cfg.SourceDatacenter, Shard: event.ShardKV,
			After: after, Prefix: r.cfg.Prefix, Wait: kvReplicationWait, Token: r.token()})
		switch {
		case err != nil:
			r.fail(ctx, "pull from the source", err)
			continue
		case resp.Error != "":
			r.fail(ctx, "pull from the source", errors.New(resp.Error))
			continue
		case resp.Gap != nil:
			// Changes the replication needs are gone from the source's
			// stream (it was away longer than the stream keeps them):
			// copy the source's keys whole again, and go on after them.
			r.fail(ctx, "gap in the source's event stream; copying the prefix again",
				fmt.Errorf("events after index %d are gone (%s); the next it holds is %d", resp.Gap.After, resp.Gap.Detail, resp.Gap.Next))
			var ok bool
			if recorded, ok = r.copyAll(ctx, recorded); !ok {
				return
			}
			after = recorded
			continue
		}
		ops := r.ops(resp.Events)
		if len(ops) == 0 {
			after = max(after, resp.Last)
			continue
		}
		body := &command.KVReplicateBody{SourceDatacenter: r.cfg.SourceDatacenter, Prefix: r.cfg.Prefix,
			DestinationPrefix: r.cfg.DestinationPrefix, Expect: recorded, Last: resp.Last, Ops: ops}
		res, err := r.a.host.Propose(ctx, command.Command{Time: time.Now().UnixNano(), Body: body})
		if err != nil {
			r.fail(ctx, "apply a batch", err)
			return
		}
		if !res.Succeeded {
			// Another leader's batch moved the record: start over
			// from it.
			r.a.log.Info("kv replication: batch refused; resuming from the recorded index",
				"source_datacenter", r.cfg.SourceDatacenter, "prefix", r.cfg.Prefix, "why", res.Refusal)
			return
		}
		r.mu.Lock()
		r.applied += uint64(len(ops))
		r.mu.Unlock()
		recorded, after = resp.Last, resp.Last
	}
}

// copyAll copies the source's keys under the prefix whole, as one batch
// continuing from recorded: each key set, and each destination key the
// source does not have deleted. It returns the source index the batch
// recorded, and false when it did not apply (the caller starts over from
// the record).
func (r *kvReplicator) copyAll(ctx context.Context, recorded uint64) (uint64, bool) {
	resp, err := r.a.FetchEvents(ctx, &wan.EventsRequest{Datacenter: r.cfg.SourceDatacenter, Shard: event.ShardKV,
		Prefix: r.cfg.Prefix, Snapshot: true, Token: r.token()})
	switch {
	case err != nil:
		r.fail(ctx, "copy the source's keys", err)
		return recorded, false
	case resp.Error != "":
		r.fail(ctx, "copy the source's keys", errors.New(resp.Error))
		return recorded, false
	case resp.Last <= recorded:
		// The source has nothing newer than the record.
		return recorded, true
	}
	var ops []command.KVReplicateOp
	have := map[string]bool{}
	for _, e := range resp.KV {
		key := r.cfg.DestinationPrefix + strings.TrimPrefix(e.Key, r.cfg.Prefix)
		have[key] = true
		ops = append(ops, command.KVReplicateOp{Index: resp.Last, Key: key, Flags: e.Flags, Value: e.Value})
	}
	local, _, _ := r.a.kv.List(r.cfg.DestinationPrefix, false)
	for _, e := range local {
		if !have[e.Key] {
			ops = append(ops, command.KVReplicateOp{Index: resp.Last, Key: e.Key, Delete: true})
		}
	}
	body := &command.KVReplicateBody{SourceDatacenter: r.cfg.SourceDatacenter, Prefix: r.cfg.Prefix,
		DestinationPrefix: r.cfg.DestinationPrefix, Expect: recorded, Last: resp.Last, Ops: ops}
	res, err := r.a.host.Propose(ctx, command.Command{Time: time.Now().UnixNano(), Body: body})
	if err != nil {
		r.fail(ctx, "apply the copy of the source's keys", err)
		return recorded, false
	}
	if !res.Succeeded {
		r.a.log.Info("kv replication: copy refused; resuming from the recorded index",
			"source_datacenter", r.cfg.SourceDatacenter, "prefix", r.cfg.Prefix, "why", res.Refusal)
		return recorded, false
	}
	r.mu.Lock()
	r.applied += uint64(len(ops))
	r.mu.Unlock()
	r.a.log.Info("kv replication: copied the source's keys", "source_datacenter", r.cfg.SourceDatacenter,
		"prefix", r.cfg.Prefix, "keys", len(resp.KV), "source_index", resp.Last)
	return resp.Last, true
}

// ops are the changes of a batch's KV events, as destination keys.
func (r *kvReplicator) ops(events []event.Event) []command.KVReplicateOp {
	var ops []command.KVReplicateOp
	for _, ev := range events {
		if ev.KV == nil || !strings.HasPrefix(ev.Key, r.cfg.Prefix) {
			continue
		}
		key := r.cfg.DestinationPrefix + strings.TrimPrefix(ev.Key, r.cfg.Prefix)
		switch ev.Type {
		case event.KVUpdated:
			ops = append(ops, command.KVReplicateOp{Index: ev.Index, Key: key, Flags: ev.KV.Flags, Value: ev.KV.Value})
		case event.KVDeleted:
			ops = append(ops, command.KVReplicateOp{Index: ev.Index, Key: key, Delete: true})
		}
	}
	return ops
}
