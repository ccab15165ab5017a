// Package health is the one home of Consul's health rules, so that the HTTP
// API, DNS, the agent and the CLI cannot drift apart:
//
//   - the status names a check can have (defined with the records in
//     package event, and re-exported here);
//   - Aggregate, Consul's api.HealthChecks.AggregatedStatus: the one status
//     that stands for a list of checks (maintenance > critical > warning >
//     passing), used by the agent's /v1/agent/health/service endpoints and
//     by alias checks;
//   - the IDs of the maintenance-mode checks, built and recognised here;
//   - Instance, the health of one service instance as DNS answers and
//     /v1/health/service?passing see it — one function for both, so that
//     ?passing and a DNS server with only_passing always agree;
//   - CheckSession, when a session may not be created or must be
//     invalidated because of its node's checks.
//
// # Unknown statuses
//
// Herald only writes passing, warning and critical, but a check can still
// carry another status (an older or newer writer, a catalog write that was
// not validated). Consul has no single rule for it, and this package follows
// each of its places:
//
//  1. Instance, like Consul's CheckServiceNodes.Filter (DNS) and its
//     ?passing filter, asks two questions only: is the check critical, and
//     is it passing. An unknown status is neither, so it counts as warning:
//     DNS answers the instance (with the warning SRV weight) unless
//     only_passing is set, and ?passing leaves it out.
//  2. Aggregate counts an unknown status as critical. Consul's
//     AggregatedStatus gives up and returns "" instead, which its agent
//     endpoint answers with 503, the code of critical; Herald names that
//     outcome critical so that callers always get one of the four statuses
//     (an alias check, say, would read "" as "target not found").
//
// The package is a leaf: it imports only the standard library and event.
package health
