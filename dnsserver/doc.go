// Package dnsserver serves Consul's DNS interface: service lookups
// ([tag.]name.service[.dc].domain and RFC 2782 _name._tag.service[.dc].domain),
// node lookups (name.node[.dc].domain), the .addr names Consul hands out as
// SRV targets, and the zone's own SOA and NS records, over UDP and TCP.
//
// It is a thin adapter: every answer is computed from the in-memory catalog
// read model behind the Catalog interface, so a query costs a map lookup and
// no Raft round trip (a service's answer is even computed once per change
// of the catalog, then served packed); staleness is bounded by how far the
// projection lags the log, which is what Consul's default allow_stale DNS
// gives as well. With Config.ReadBarrier (allow_stale = false) each answer
// first waits on a read barrier, one round trip to the leader, and is
// SERVFAIL when it fails; such answers are never cached.
// Names outside the configured domains are forwarded to the recursors, or
// refused when there are none.
//
// The answers follow Consul's rules, including the ones that surprise:
//
//  1. An instance with any critical check (its node's or its own, including
//     the _node_maintenance and _service_maintenance:<id> checks) is never
//     returned; with only_passing, warning instances are left out too. The
//     rule is health.Instance, the one /v1/health/service?passing uses.
//  2. A service with no instance left is NXDOMAIN, with the zone's SOA in the
//     authority section; a name that exists but has no record of the asked
//     type is NOERROR with the SOA (NODATA).
//  3. Answers are shuffled; a service's answer is packed once per catalog
//     version (cache.go) in several rotations of that shuffle, which queries
//     take in turn, so the first answer still moves across the instances.
//     TTLs are 0 unless node_ttl or service_ttl (exact names, then the
//     longest "prefix*") say otherwise.
//  4. A plain UDP response (no EDNS0, or EDNS0 at most 512 bytes) carries at
//     most udp_answer_limit answers and at most 512 bytes; with EDNS0 the
//     client's buffer is the limit, over TCP 64 KiB. The TC bit is set on a
//     cut response only with enable_truncate, as in Consul — except when not
//     even one answer fits, where an empty answer without TC would be a lie.
//  5. A datacenter label other than the local one is NXDOMAIN, which is what
//     Consul answers when it has no path to that datacenter.
package dnsserver
