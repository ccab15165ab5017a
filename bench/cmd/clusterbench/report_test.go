package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/bench"
)

func res(ops float64, p50 time.Duration, errs uint64) bench.Result {
	return bench.Result{OpsPerSec: ops, P50: p50, P90: 2 * p50, P99: 4 * p50, Max: 8 * p50, Errors: errs}
}

func statuses(r *report) string {
	var s []string
	for _, c := range r.Checks {
		s = append(s, c.Status)
	}
	return strings.Join(s, ",")
}

func sample(took time.Duration) bench.FailoverSample { return bench.FailoverSample{Took: took} }

func TestFailoverSummary(t *testing.T) {
	r := &report{Failover: &failoverReport{Client: "c1", Kills: []kill{
		{N: 1, Node: "s1", Led: "kv", StreamLeader: "s1", FailoverSample: sample(10 * time.Second), Survivor: "s2", Direct: time.Second},
		{N: 2, Node: "s2", Led: "kv", StreamLeader: "s1", FailoverSample: sample(11 * time.Second), Survivor: "s3", Direct: 3 * time.Second},
		{N: 3, Node: "s3", Led: "kv", StreamLeader: "s1", Survivor: "s1", Direct: 2 * time.Second, Error: "no write succeeded within 1m0s"},
		{N: 4, Node: "s1", Led: "kv", Survivor: "s2", Error: "after kill 4: not healthy; the end of herald-s1's log:\n  critical write error"},
	}}, FailoverError: "after kill 4: not healthy; the end of herald-s1's log:\n  critical write error"}
	r.compute()
	f := r.Failover
	if f.Median != 10500*time.Millisecond || f.Max != 11*time.Second || f.DirectMedian != 2*time.Second || f.DirectMax != 3*time.Second {
		t.Errorf("median %v max %v, direct median %v max %v; want 10.5s 11s, 2s 3s", f.Median, f.Max, f.DirectMedian, f.DirectMax)
	}
	var out bytes.Buffer
	r.print(&out)
	for _, s := range []string{"write through c1", "s2 1.00s", "s3 3.00s", "10.00s", "through c1: median 10.50s, max 11.00s over 4 kills; straight to a server: median 2.00s, max 3.00s",
		"kill 4: after kill 4: not healthy; the end of herald-s1's log:\n", "failover stopped early: after kill 4"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "critical write error") {
		t.Errorf("the report repeats a server's log:\n%s", out.String())
	}
}

func TestReport(t *testing.T) {
	r := &report{
		Results: []row{
			{Scenario: "put@64", Target: "herald client", Result: res(500, 120*time.Millisecond, 0)},
			{Scenario: "put@64", Target: "herald leader", Result: res(6000, 10*time.Millisecond, 0)},
			{Scenario: "put@64", Target: "etcd leader", Result: res(5000, 12*time.Millisecond, 0)},
			{Scenario: "dns@32", Target: "herald client", Result: res(40000, 700*time.Microsecond, 0)},
			{Scenario: "dns@32", Target: "herald server", Result: res(38000, 750*time.Microsecond, 0)},
		},
		DNS: &dnsReport{Client: "c1", Server: "s3", ServerLed: "-",
			ClientQueries: 160000, ServersTicksClient: 10, ServerQueries: 152000, ServerTicksServer: 400},
		Failover: &failoverReport{Shard: "kv", Client: "c1", Kills: []kill{
			{N: 1, Node: "s1", Led: "catalog+kv", FailoverSample: sample(3 * time.Second), After: leaderNames{"s2", "s2"}},
			{N: 2, Node: "s2", Led: "catalog+kv", FailoverSample: sample(time.Second), After: leaderNames{"s3", "s3"}},
			{N: 3, Node: "s3", Led: "kv", FailoverSample: sample(2 * time.Second), After: leaderNames{"s3", "s1"}},
			{N: 4, Node: "s1", Led: "kv", FailoverSample: sample(1500 * time.Millisecond), After: leaderNames{"s3", "s2"}},
		}},
		Watch: &watchReport{Asked: 300, Clients: []string{"c1", "c2", "c3"}, Writer: "s2",
			FanoutResult: bench.FanoutResult{Watchers: 300, Woken: 300, P50: 20 * time.Millisecond, P99: 40 * time.Millisecond},
			ClientsCPU:   300 * time.Millisecond},
	}
	r.compute()
	if got := statuses(r); got != "PASS,PASS,PASS,PASS" {
		t.Fatalf("checks %s, want all PASS: %+v", got, r.Checks)
	}
	if r.Failover.Median != 1750*time.Millisecond || r.Failover.Max != 3*time.Second {
		t.Errorf("failover median %v max %v, want 1.75s 3s", r.Failover.Median, r.Failover.Max)
	}
	want := []ratio{
		{Scenario: "put@64", Name: "client/etcd", Ops: 0.1, P50: 10, P90: 10, P99: 10, Max: 10},
		{Scenario: "put@64", Name: "leader/etcd", Ops: 1.2},
		{Scenario: "dns@32", Name: "client/server", Ops: 40000.0 / 38000},
	}
	if len(r.Ratios) != len(want) {
		t.Fatalf("ratios %+v", r.Ratios)
	}
	for i, w := range want {
		g := r.Ratios[i]
		if g.Scenario != w.Scenario || g.Name != w.Name || g.Ops != w.Ops || (w.P50 != 0 && g.P50 != w.P50) || (w.Max != 0 && g.Max != w.Max) {
			t.Errorf("ratio %d = %+v, want %+v", i, g, w)
		}
	}

	var out bytes.Buffer
	r.LoadStart, r.LoadEnd = "3.00 2.00 1.00", "4.00 2.50 1.25"
	r.print(&out)
	for _, s := range []string{"client/etcd", "x0.10", "leader/etcd", "x1.20", "client/server", "x1.05",
		"load average (1, 5, 15 min): 3.00 2.00 1.00 at the start, 4.00 2.50 1.25 at the end",
		"median 1.75s, max 3.00s over 4 kills", "catalog+kv", "s3/s1", "the kv shard's leader",
		"300 watchers through 3 client agents all woken, p99 < 50.0ms", "spread over client agents [c1 c2 c3]; one write through s2",
		"client agents 300.0ms (1.00ms a watcher)"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}

	// A slower client, errors, a client that costs the servers as much as
	// answering, and a kill that never saw a write: every check misses,
	// and the failed kill stays out of the median.
	r.Results[3].OpsPerSec = 30000
	r.Results[4].Errors = 2
	r.DNS.ServersTicksClient = 400
	r.Failover.Kills = append(r.Failover.Kills, kill{N: 5, Node: "s2", Led: "kv", Error: "no write succeeded within 1m0s"})
	r.Watch.P99 = 2 * time.Second
	r.compute()
	if got := statuses(r); got != "MISS,MISS,MISS,MISS" {
		t.Fatalf("checks %s, want all MISS: %+v", got, r.Checks)
	}
	if !strings.Contains(r.Checks[0].Got, "2 errors") || r.Checks[2].Got != "4 of 5 kills" {
		t.Errorf("checks say %+v", r.Checks)
	}
	if r.Failover.Median != 1750*time.Millisecond {
		t.Errorf("median %v with a failed kill, want 1.75s", r.Failover.Median)
	}
	out.Reset()
	r.print(&out)
	if !strings.Contains(out.String(), "kill 5: no write succeeded") || !strings.Contains(out.String(), "none") {
		t.Errorf("the failed kill is not shown:\n%s", out.String())
	}

	// Nothing measured: n/a, not MISS.
	empty := &report{}
	empty.compute()
	if got := statuses(empty); got != "n/a,n/a,n/a,n/a" {
		t.Errorf("empty run: %s", got)
	}
}

func TestLed(t *testing.T) {
	l := leaders{catalog: 0, kv: 2}
	for i, want := range []string{"catalog", "-", "kv"} {
		if got := l.led(i); got != want {
			t.Errorf("led(%d) = %q, want %q", i, got, want)
		}
	}
	if got := (leaders{1, 1}).led(1); got != "catalog+kv" {
		t.Errorf("led = %q", got)
	}
}

func TestReplicaID(t *testing.T) {
	if got := bench.MemberReplicaID(bench.Member{Tags: map[string]string{"rid": "ff", "id": "x"}}); got != 255 {
		t.Errorf("from the rid tag: %d", got)
	}
	if a, b := bench.MemberReplicaID(bench.Member{Tags: map[string]string{"id": "node-a"}}), bench.MemberReplicaID(bench.Member{Tags: map[string]string{"id": "node-b"}}); a == 0 || a == b {
		t.Errorf("derived from the node ID: %d, %d", a, b)
	}
	if got := bench.MemberReplicaID(bench.Member{}); got != 0 {
		t.Errorf("no tags: %d", got)
	}
}
