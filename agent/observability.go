package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"

	"github.com/heraldhq/herald/agent/monitor"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
	"github.com/heraldhq/herald/statemachine"
	"github.com/heraldhq/herald/telemetry"
)

// startObservability creates the agent's metrics registry and token store
// and samples the gauges until ctx ends. It runs before anything that
// records metrics starts.
func (a *Agent) startObservability(ctx context.Context) error {
	t := a.cfg.Telemetry
	reg, err := telemetry.New(telemetry.Config{
		Prefix:              t.MetricsPrefix,
		DisableHostname:     t.DisableHostname,
		PrometheusRetention: t.PrometheusRetentionTime,
	})
	if err != nil {
		return err
	}
	a.metrics = reg
	persist := ""
	if a.cfg.ACL.Enabled && a.cfg.ACL.EnableTokenPersistence {
		persist = filepath.Join(a.dataDir, tokens.FileName)
	}
	if a.tokens, err = tokens.New(a.cfg.ACL.Tokens, persist); err != nil {
		return err
	}
	a.stateGauges()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		reg.Run(ctx)
	}()
	return nil
}

// stateGauges samples the size of what the agent serves, with Consul's
// consul.state.* names where Consul has them.
func (a *Agent) stateGauges() {
	m := a.metrics
	catalog := func(f func(s projections.CatalogSize) int) func() (float32, bool) {
		return func() (float32, bool) { return float32(f(a.catalog.Size())), true }
	}
	m.Gauge([]string{"state", "nodes"}, catalog(func(s projections.CatalogSize) int { return s.Nodes }))
	m.Gauge([]string{"state", "services"}, catalog(func(s projections.CatalogSize) int { return s.Services }))
	m.Gauge([]string{"state", "service_instances"}, catalog(func(s projections.CatalogSize) int { return s.ServiceInstances }))
	m.Gauge([]string{"herald", "state", "checks"}, catalog(func(s projections.CatalogSize) int { return s.Checks }))
	m.Gauge([]string{"herald", "projections", "watched"}, catalog(func(s projections.CatalogSize) int { return s.Watched }),
		telemetry.Label{Name: "projection", Value: "catalog"})
	m.Gauge([]string{"state", "kv_entries"}, func() (float32, bool) { return float32(a.kv.Size().Keys), true })
	m.Gauge([]string{"herald", "state", "sessions"}, func() (float32, bool) { return float32(a.kv.Size().Sessions), true })
	m.Gauge([]string{"herald", "projections", "watched"}, func() (float32, bool) { return float32(a.kv.Size().Watched), true },
		telemetry.Label{Name: "projection", Value: "kv"})
}

// publishedLog is a shard's event log as its publisher sees it, noting how
// far the publisher got, for the herald.events.publish_lag gauge.
type publishedLog struct {
	*statemachine.StateMachine
	published *atomic.Uint64
}

func (l publishedLog) Published(index uint64) {
	l.published.Store(index)
	l.StateMachine.Published(index)
}

// publishLog wraps a shard's log for its publisher and samples the lag:
// how many indexes applied here are not yet on the event stream. Only the
// server that publishes a shard's events reports it.
func (a *Agent) publishLog(id command.Shard, replicas int) publishedLog {
	l := publishedLog{StateMachine: a.shards[id], published: new(atomic.Uint64)}
	a.metrics.Gauge([]string{"herald", "events", "publish_lag"}, func() (float32, bool) {
		published := l.published.Load()
		if published == 0 || (replicas > 1 && !a.host.IsLeader(id)) {
			return 0, false
		}
		applied := l.AppliedIndex()
		if applied < published {
			return 0, true
		}
		return float32(applied - published), true
	}, telemetry.Label{Name: "shard", Value: id.String()})
	return l
}

// SubscribeLog follows the agent's log, for /v1/agent/monitor.
func (a *Agent) SubscribeLog(level slog.Level, json bool) *monitor.Subscription {
	return a.monitor.Subscribe(level, json)
}

// ACLsEnabled reports acl.enabled.
func (a *Agent) ACLsEnabled() bool { return a.cfg.ACL.Enabled }

// UpdateToken replaces one of the agent's ACL tokens (/v1/agent/token).
func (a *Agent) UpdateToken(name, secret string) error { return a.tokens.Update(name, secret) }

// Token is the agent's token of a kind (tokens.Default, tokens.Agent, ...),
// "" when it has none.
func (a *Agent) Token(kind string) string { return a.tokens.Token(kind) }
