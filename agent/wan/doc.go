// Package wan carries requests between datacenters: each server runs a
// small NATS server of its own whose only job is a NATS gateway, and the
// gateways of every server of every datacenter connect to each other (a
// NATS supercluster) from the addresses the Serf WAN pool gossips
// (Gateway). A request for another datacenter is one NATS request on
// herald.<dc>.rpc.http (an HTTP request replayed by a server of <dc>
// against its own API) or herald.<dc>.rpc.dns (a DNS query answered by
// it), answered by that datacenter's servers in their queue group
// (HTTPRequest, HTTPResponse, DNSRequest, DNSResponse).
//
// Each server's gateway has a name of its own (GatewayName) rather than
// its datacenter's: the servers' main NATS servers are not one NATS
// cluster unless nats_routes says so, and NATS routes a gateway reply
// through the cluster of the gateway it reaches, so a datacenter's
// servers can share a gateway name only when their NATS servers are
// routed together. With one name each, every reply comes straight back
// to the server that asked.
//
// docs/multi-datacenter.md describes federation for operators.
package wan
