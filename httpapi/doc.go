// Package httpapi serves Consul's HTTP API (/v1/...) over Herald's
// projections and command log.
//
// It is a thin adapter: reads are answered from projections in memory
// (default and ?stale alike; ?consistent first waits on a Raft read barrier),
// writes become commands proposed to a shard and return once committed. It
// reproduces Consul's JSON shapes, status codes, error texts and headers, so
// that Consul's clients cannot tell the difference.
//
// Blocking queries follow Consul's rules:
//
//  1. A request with ?index=N (N > 0) waits until the answer's index is
//     greater than N, or until ?wait (default 5 minutes, at most 10) plus up
//     to 1/16 of it in random jitter has passed, then answers either way.
//  2. The wait is woken only by changes to the data the request reads: the
//     projection hands out a channel per key or prefix.
//  3. A woken request runs its query again; if the index did not move past N
//     (a change elsewhere under a shared prefix) it keeps waiting.
//  4. Without ?index, or with ?index=0, the answer is immediate.
//  5. Indexes are never 0 in answers, so a client can always block on one.
package httpapi
