// Package bench is a small load generator for key/value stores, used to
// compare Herald with etcd (and Consul) on the same machine.
//
// A Target issues one Put or Get; ConsulKV speaks Consul's KV HTTP API (what
// Herald and Consul serve) and EtcdKV speaks etcd v3's gRPC API through
// etcd's own Go client, as etcd's users call it. Run drives a
// Target from a fixed number of concurrent clients for a duration or an
// operation count and reports throughput and latency percentiles. Latencies
// go into a per-client log-linear Histogram, so recording costs a few
// nanoseconds and no lock, and percentiles stay within 1% of the truth.
//
// ConsulKV goes through net/http with keep-alive and one idle connection
// per client and does not decode response bodies; EtcdKV shares one client
// (one HTTP/2 connection) between all callers, as an application does.
//
// The command bench/cmd/kvbench starts the servers and runs the scenarios.
// bench/cmd/discobench and bench/cmd/coordbench measure Herald alone, the
// latter its locks, sessions and watch fan-out over HTTP and NATS with
// RunLocks, SessionWorkload, FanoutQuery and NATSFanout.
// bench/cmd/clusterbench runs three Herald servers and a client agent
// (StartHeraldCluster) against a three-member etcd (StartEtcd), interleaving
// targets with Interleave, and times leader kills with a FailoverWriter.
// All of them share the process, CPU-noise and report helpers here (Server,
// StartHerald, SnapshotCPU, PrintResults).
package bench
