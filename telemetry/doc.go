// Package telemetry is the agent's one metrics registry, in Consul's
// manner: components record counters, timers and gauges through a Registry
// (a hashicorp/go-metrics instance, the library Consul and its gossip
// libraries use), and the registry serves them two ways from the same
// records:
//
//   - /v1/agent/metrics: an in-memory sink of 10-second intervals kept for a
//     minute, answered as Consul's MetricsInfo JSON (the last finished
//     interval);
//   - /v1/agent/metrics?format=prometheus: a Prometheus sink on a registry
//     of the agent's own, in the text exposition format, when
//     telemetry.prometheus_retention_time is positive (as in Consul).
//
// Names are Consul's, under the configured prefix ("consul" by default),
// where Consul has one; Herald's own start with "herald" and take no
// prefix.
//
// Gauges that describe state rather than events (catalog size, watchers,
// publish lag, Go runtime) are sampled every second by Run from the
// functions given to Gauge, so that every interval has them.
//
// A nil *Registry records nothing, so components work without one.
package telemetry
