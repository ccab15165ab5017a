// Package bench is a small load generator for key/value HTTP APIs, used to
// compare Herald with etcd on the same machine.
//
// A Target issues one Put or Get; ConsulKV speaks Consul's KV HTTP API (what
// Herald serves) and EtcdKV speaks etcd v3's JSON gRPC gateway. Run drives a
// Target from a fixed number of concurrent clients for a duration or an
// operation count and reports throughput and latency percentiles. Latencies
// go into a per-client log-linear Histogram, so recording costs a few
// nanoseconds and no lock, and percentiles stay within 1% of the truth.
//
// Both targets go through net/http with keep-alive and one idle connection
// per client, and neither decodes response bodies, so the client side costs
// the same for both servers and the comparison measures the servers.
//
// The command bench/cmd/kvbench starts both servers and runs the scenarios.
// bench/cmd/discobench and bench/cmd/coordbench measure Herald alone, the
// latter its locks, sessions and watch fan-out over HTTP and NATS with
// RunLocks, SessionWorkload, FanoutQuery and NATSFanout.
// bench/cmd/clusterbench runs three Herald servers and a client agent
// (StartHeraldCluster) against a three-member etcd (StartEtcd), interleaving
// targets with Interleave, and times leader kills with a FailoverWriter.
// All of them share the process, CPU-noise and report helpers here (Server,
// StartHerald, SnapshotCPU, PrintResults).
package bench
