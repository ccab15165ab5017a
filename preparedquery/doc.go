// Package preparedquery holds Consul's rules for prepared queries, in one
// place for the state machine, the HTTP API and DNS:
//
//   - Validate, what a definition must satisfy before it is proposed
//     (Consul's checks before its Raft apply), with Consul's messages;
//   - Compile and Render, templates of type name_prefix_match: the
//     ${name.full}, ${name.prefix}, ${name.suffix} and ${match(N)}
//     interpolations in every string of the Service part, and Regexp;
//   - Resolve, how an ID or a name picks a query (an ID first, then an
//     exact name, then the template with the longest name prefix);
//   - Filter, which instances an execution answers: health through
//     package health's Instance (minus IgnoreCheckIDs), tags (with "!" for
//     a tag that must be absent), node and service meta;
//   - FailoverTargets, the other datacenters a query that found nothing
//     tries, in order.
//
// It reads records of package event and instances of package projections,
// and keeps no state.
package preparedquery
