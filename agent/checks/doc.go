// Package checks runs the health checks of the services (and the node) an
// agent owns: HTTP, TCP, UDP, gRPC, H2PING, TTL, alias and script checks,
// with Consul's semantics for intervals, timeouts, output limits and the
// success_before_passing / failures_before_warning / failures_before_critical
// thresholds.
//
// A Runner decides each check's status locally, on the agent that runs it.
// Nothing it does is replicated by itself: it reports to the caller through
// Config.Notify, and the caller turns what it hears into catalog commands.
// Because every command is a Raft entry, the runner is deliberately quiet:
//
//   - a status transition (passing to critical, say) is reported at once;
//   - a check that keeps its status reports nothing, however often it runs;
//   - a check whose output changes while its status does not (a timestamp in
//     a script's output, a counter in an HTTP body) is reported at most once
//     per Config.OutputUpdateInterval, with the latest output, in the manner
//     of Consul's check_update_interval.
//
// Script checks run arbitrary commands on the agent's host. Anyone who can
// register a check over the HTTP API could use them for remote code
// execution, so they are refused unless Config.EnableScriptChecks is set
// (or Config.EnableLocalScriptChecks, for checks defined in the agent's own
// configuration files), as in Consul.
package checks
