// Package monitor lets readers follow an agent's log as it is written, for
// /v1/agent/monitor and `herald monitor`. Handler is a slog.Handler that
// passes every record to the agent's own handler and also to the current
// subscribers, each at its own level and in text or JSON. A subscriber
// that does not keep up loses lines (they are counted) rather than slowing
// the agent's logging down.
package monitor
