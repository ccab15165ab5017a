package agent

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/natsauth"
	"github.com/heraldhq/herald/ui"
	"github.com/heraldhq/herald/watch"
)

// wireUI gives the HTTP API what the web UI's endpoints need of the agent
// (its event stream), and hands it the UI itself when it is on: -ui,
// ui_config.enabled, -dev, or a ui_config.dir to serve it from (which
// turns it on in Consul too).
func (a *Agent) wireUI(api *httpapi.Server) {
	api.SetEventTail(uiEventTail{a})
	api.SetHistory(a.history)
	api.SetEventFeed(a)
	if !a.cfg.UIEnabled && a.cfg.UIDir == "" {
		return
	}
	api.ServeUI(a.cfg.UIContentPath, ui.Handler(a.cfg.UIContentPath, a.cfg.UIDir, a.cfg.Datacenter))
}

// uiEventTail is the agent's event stream as the UI's events topic reads
// it: JetStream through the agent's own NATS connection, a server's or, on
// a client agent, the one to the servers.
type uiEventTail struct{ a *Agent }

var _ httpapi.EventTail = uiEventTail{}

func (t uiEventTail) Shards() map[string]uint64 {
	catalog, _ := t.a.catalog.Changes(false)
	_, kv, _ := t.a.kv.Sessions(func(*event.Session) bool { return false }, false)
	return map[string]uint64{event.ShardCatalog: catalog, event.ShardKV: kv, event.ShardSystem: t.a.acl.Index()}
}

func (t uiEventTail) Follow(ctx context.Context, shard string, fromIndex uint64, handler func(event.Event) error) (<-chan error, error) {
	nc := t.a.natsConn
	if nc == nil {
		nc = t.a.clientNATS.Load()
	}
	if nc == nil {
		return nil, fmt.Errorf("%w: the agent has no connection to the event stream", agenterr.ErrUnavailable)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	_, errs, err := watch.Subscribe(ctx, js, t.a.cfg.Datacenter, shard, fromIndex, handler)
	return errs, err
}

func (t uiEventTail) Subject(ev event.Event) string { return watch.Subject(t.a.cfg.Datacenter, ev) }

func (t uiEventTail) ReadFilter(authz acl.Authorizer) func(subject string) bool {
	return natsauth.ReadFilter(t.a.cfg.Datacenter, authz)
}

// history answers the UI's history requests: from this server's replicas,
// or, on a client agent, from a server's (rpc's history verb), acting with
// the caller's token.
func (a *Agent) history(ctx context.Context, req rpc.HistoryRequest) ([]byte, error) {
	if a.host != nil {
		return serverShards{a}.History(req)
	}
	nc := a.clientNATS.Load()
	if nc == nil {
		return nil, fmt.Errorf("%w: no connection to the servers yet", agenterr.ErrUnavailable)
	}
	return rpc.NewClient(nc, a.cfg.Datacenter).History(ctx, req)
}

// History answers a history request from this server's replica of the
// shard that holds it (rpc.HistoryShards).
func (s serverShards) History(req rpc.HistoryRequest) ([]byte, error) {
	_, shard, err := req.Resource()
	if err != nil {
		return nil, err
	}
	return httpapi.AnswerHistory(s.a.shards[shard], req)
}
