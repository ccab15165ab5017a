package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/bench"
)

// row is one scenario's result on one target.
type row = bench.Row

// tick is the unit of /proc's CPU times.
const tick = bench.Tick

// localShare is the most a client's DNS answer may cost the servers, as
// a share of what answering the query themselves costs a server, for the
// client to count as answering locally. A client that asked a server for
// every answer would cost it about as much as answering (100%); the
// servers' background work (Raft heartbeats, gossip) comes to a few
// percent at the query rates measured here.
const localShare = 0.25

// leaderNames names the nodes leading the two shards.
type leaderNames struct {
	Catalog string `json:"catalog"`
	KV      string `json:"kv"`
}

// putTarget says which node a put target is.
type putTarget struct {
	Target string `json:"target"`
	Node   string `json:"node"`
}

// dnsReport is the DNS scenario beyond its rows: who answered, and the
// CPU time the servers spent meanwhile.
type dnsReport struct {
	Client    string `json:"client"`
	Server    string `json:"server"`
	ServerLed string `json:"server_led"` // the shards the measured server led
	// ClientQueries were answered by the client agent in the measured
	// slices, using ClientTicksClient clock ticks of CPU, while the three
	// servers used ServersTicksClient; ServerQueries by the server, which
	// used ServerTicksServer.
	ClientQueries      uint64 `json:"client_queries"`
	ClientTicksClient  uint64 `json:"client_ticks_during_client"`
	ServersTicksClient uint64 `json:"servers_ticks_during_client"`
	ServerQueries      uint64 `json:"server_queries"`
	ServerTicksServer  uint64 `json:"server_ticks_during_server"`
}

// perQuery is CPU time per query, 0 without queries.
func perQuery(ticks, queries uint64) time.Duration {
	if queries == 0 {
		return 0
	}
	return time.Duration(ticks) * tick / time.Duration(queries)
}

// kill is one leader kill of the failover scenario.
type kill struct {
	N    int    `json:"n"`
	Node string `json:"killed"`
	Led  string `json:"led"` // the shards the killed server led
	// StreamLeader led the kv shard's event stream (a JetStream stream
	// replicated over the servers' NATS cluster) at the kill; "" without
	// a NATS cluster.
	StreamLeader string `json:"kv_stream_leader,omitempty"`
	bench.FailoverSample
	// Direct is the time from the kill to the first successful write sent
	// after it straight to Survivor, a server that stayed up: when Raft
	// took writes again. 0 if none succeeded.
	Survivor string        `json:"survivor"`
	Direct   time.Duration `json:"direct_write_ns"`
	// Healthy is how long the cluster took, from the killed server's
	// restart, to be healthy again with it as a voter.
	Healthy time.Duration `json:"healthy_after_restart_ns"`
	After   leaderNames   `json:"leaders_after"`
	Error   string        `json:"error,omitempty"`
}

// failoverReport is the failover scenario.
type failoverReport struct {
	Shard        string `json:"killed_leader_of"` // kv or catalog
	Client       string `json:"client"`
	WriteTimeout string `json:"write_timeout"`
	RetryPause   string `json:"retry_pause"`
	Kills        []kill `json:"kills"`
	// Median and Max of Took over the kills that ended in a write, and
	// of Direct over those where a direct write succeeded.
	Median       time.Duration `json:"median_ns"`
	Max          time.Duration `json:"max_ns"`
	DirectMedian time.Duration `json:"direct_median_ns"`
	DirectMax    time.Duration `json:"direct_max_ns"`
}

// ratio is one target's figures over its peer's.
type ratio struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"` // "client/etcd"
	Ops      float64 `json:"ops_per_sec"`
	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	P99      float64 `json:"p99"`
	Max      float64 `json:"max"`
}

// report is everything a run measured; it is printed and written as JSON.
type report struct {
	Started      time.Time       `json:"started"`
	CPUs         int             `json:"cpus"`
	HeraldBinary string          `json:"herald_binary"`
	Servers      int             `json:"servers"`
	NATSCluster  bool            `json:"nats_cluster"`
	EtcdVersion  string          `json:"etcd_version,omitempty"`
	EtcdMembers  int             `json:"etcd_members,omitempty"`
	Duration     string          `json:"duration_per_target"`
	Rounds       int             `json:"rounds"`
	StartLeaders leaderNames     `json:"leaders_at_start"`
	PutTargets   []putTarget     `json:"put_targets,omitempty"`
	PutNote      string          `json:"put_note,omitempty"`
	Results      []row           `json:"results"`
	Ratios       []ratio         `json:"ratios,omitempty"`
	DNS          *dnsReport      `json:"dns,omitempty"`
	Failover     *failoverReport `json:"failover,omitempty"`
	Watch        *watchReport    `json:"watch,omitempty"`
	// OpenFiles is the open-file limit the watch scenario ran under.
	OpenFiles    uint64 `json:"open_files,omitempty"`
	OpenFilesMsg string `json:"open_files_note,omitempty"`
	// FailoverError is why the failover scenario stopped early.
	FailoverError string `json:"failover_error,omitempty"`
	// Noise is the share of CPU time other processes took during each
	// scenario, ForeignCPU during all of them; nil where it cannot be read.
	Noise      map[string]float64 `json:"foreign_cpu_share_by_scenario,omitempty"`
	ForeignCPU *float64           `json:"foreign_cpu_share,omitempty"`
	// LoadStart and LoadEnd are the machine's load averages before the
	// clusters started and after the last scenario.
	LoadStart string        `json:"load_average_start,omitempty"`
	LoadEnd   string        `json:"load_average_end,omitempty"`
	Checks    []bench.Check `json:"checks"`
}

// peers says which target each target of a scenario is compared with:
// Herald's put targets with etcd's leader, the client's DNS with the
// server's.
var peers = map[string]string{
	"herald client/put":    "etcd leader",
	"herald leader/put":    "etcd leader",
	"herald kv leader/put": "etcd leader",
	"herald client/dns":    "herald server",
}

// ratioName is how a ratio line reads: "client/etcd".
func ratioName(target, peer string) string {
	short := func(s string) string {
		s = strings.TrimPrefix(s, "herald ")
		return strings.TrimSuffix(s, " leader")
	}
	if target == "herald kv leader" {
		return "kv leader/" + short(peer)
	}
	if target == "herald leader" {
		return "leader/" + short(peer)
	}
	return short(target) + "/" + short(peer)
}

// div is a/b, 0 when b is 0.
func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// compute fills Ratios, the failover summary and Checks.
func (r *report) compute() {
	r.Ratios = nil
	for _, x := range r.Results {
		kind, _, _ := strings.Cut(x.Scenario, "@")
		peer, ok := peers[x.Target+"/"+kind]
		if !ok {
			continue
		}
		p, ok := bench.FindRow(r.Results, x.Scenario, peer)
		if !ok {
			continue
		}
		r.Ratios = append(r.Ratios, ratio{Scenario: x.Scenario, Name: ratioName(x.Target, peer),
			Ops: div(x.OpsPerSec, p.OpsPerSec),
			P50: div(float64(x.P50), float64(p.P50)), P90: div(float64(x.P90), float64(p.P90)),
			P99: div(float64(x.P99), float64(p.P99)), Max: div(float64(x.Max), float64(p.Max))})
	}

	if f := r.Failover; f != nil {
		var took, direct []time.Duration
		for _, k := range f.Kills {
			if k.Error == "" {
				took = append(took, k.Took)
			}
			if k.Direct > 0 {
				direct = append(direct, k.Direct)
			}
		}
		f.Median, f.Max = bench.MedianMax(took)
		f.DirectMedian, f.DirectMax = bench.MedianMax(direct)
	}

	r.Checks = nil
	add := func(name, got string, ok, measured bool) {
		r.Checks = append(r.Checks, bench.NewCheck(name, got, ok, measured))
	}
	var dnsClient, dnsServer bench.Result
	measured := false
	for _, x := range r.Results {
		if strings.HasPrefix(x.Scenario, "dns@") {
			c, cok := bench.FindRow(r.Results, x.Scenario, "herald client")
			s, sok := bench.FindRow(r.Results, x.Scenario, "herald server")
			dnsClient, dnsServer, measured = c, s, cok && sok
			break
		}
	}
	got := "not measured"
	errs := ""
	if n := dnsClient.Errors + dnsServer.Errors; n > 0 {
		errs = fmt.Sprintf(" (%d errors)", n)
	}
	if measured {
		got = fmt.Sprintf("x%.2f (%.0f vs %.0f q/s)%s", div(dnsClient.OpsPerSec, dnsServer.OpsPerSec), dnsClient.OpsPerSec, dnsServer.OpsPerSec, errs)
	}
	add("dns client q/s >= server q/s", got, measured && errs == "" && dnsClient.OpsPerSec >= dnsServer.OpsPerSec, measured)

	got, measured = "not measured", false
	local := false
	if d := r.DNS; d != nil && d.ClientQueries > 0 && d.ServerQueries > 0 && d.ServerTicksServer > 0 {
		measured = true
		theirs, own := perQuery(d.ServersTicksClient, d.ClientQueries), perQuery(d.ServerTicksServer, d.ServerQueries)
		share := float64(d.ServersTicksClient) / float64(d.ClientQueries) / (float64(d.ServerTicksServer) / float64(d.ServerQueries))
		local = share <= localShare
		got = fmt.Sprintf("the servers spent %s of CPU per query the client answered, %.1f%% of the %s a server spends answering one",
			fmtCPU(theirs), share*100, fmtCPU(own))
	}
	add(fmt.Sprintf("dns client answers locally (servers' CPU per client query <= %.0f%% of a server's own)", localShare*100), got, local, measured)

	got, measured = "not measured", false
	ok := false
	if f := r.Failover; f != nil && len(f.Kills) > 0 {
		measured = true
		done := 0
		for _, k := range f.Kills {
			if k.Error == "" {
				done++
			}
		}
		ok = done == len(f.Kills) && r.FailoverError == ""
		got = fmt.Sprintf("%d of %d kills", done, len(f.Kills))
	}
	add("every kill followed by a successful write and a healthy cluster", got, ok, measured)
	r.Checks = append(r.Checks, r.watchCheck())
}

// firstLine is s up to its first newline: errors that carry the end of a
// server's log show it once, on stderr.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// fmtCPU prints a small CPU time per query.
func fmtCPU(d time.Duration) string {
	if d < time.Microsecond {
		return fmt.Sprintf("%.2fµs", float64(d)/1e3)
	}
	return bench.FormatDuration(d)
}

// print writes the human-readable report.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nclusterbench: %d Herald servers", r.Servers)
	if r.NATSCluster {
		fmt.Fprint(w, " (their NATS servers one NATS cluster)")
	} else {
		fmt.Fprint(w, " (a NATS server of its own each)")
	}
	if r.Watch != nil && len(r.Watch.Clients) > 1 {
		fmt.Fprintf(w, " and %d client agents", len(r.Watch.Clients))
	} else {
		fmt.Fprint(w, " and a client agent")
	}
	if r.EtcdMembers > 0 {
		fmt.Fprintf(w, ", etcd with %d members", r.EtcdMembers)
		if r.EtcdVersion != "" {
			fmt.Fprintf(w, " (%s)", r.EtcdVersion)
		}
	}
	fmt.Fprintf(w, ", on %d CPUs; %s measured per target in %d slices\n", r.CPUs, r.Duration, r.Rounds)
	fmt.Fprintf(w, "leaders at the start: catalog %s, kv %s\n\n", r.StartLeaders.Catalog, r.StartLeaders.KV)

	if len(r.Results) > 0 {
		bench.PrintResults(w, r.Results, r.ratioLines)
		var ts []string
		for _, t := range r.PutTargets {
			ts = append(ts, t.Target+" = "+t.Node)
		}
		if len(ts) > 0 {
			fmt.Fprintf(w, "put: %s; ops/s are acknowledged writes, every one committed by a majority with fsync\n", strings.Join(ts, ", "))
		}
		if r.PutNote != "" {
			fmt.Fprintln(w, "put:", r.PutNote)
		}
		if d := r.DNS; d != nil {
			fmt.Fprintf(w, "dns: herald client = %s, herald server = %s (leads %s); %s answered %d queries with %s of CPU (%s a query) while the servers used %s;"+
				" %s answered %d with %s (%s a query)\n",
				d.Client, d.Server, d.ServerLed, d.Client, d.ClientQueries, time.Duration(d.ClientTicksClient)*tick,
				fmtCPU(perQuery(d.ClientTicksClient, d.ClientQueries)), time.Duration(d.ServersTicksClient)*tick,
				d.Server, d.ServerQueries, time.Duration(d.ServerTicksServer)*tick, fmtCPU(perQuery(d.ServerTicksServer, d.ServerQueries)))
		}
	}

	if r.Watch != nil {
		r.Watch.print(w)
	}

	if f := r.Failover; f != nil {
		what := "the kv shard's leader (the server KV writes need)"
		if f.Shard == "catalog" {
			what = "the leader /v1/status/leader names (the catalog shard's)"
		}
		fmt.Fprintf(w, "\nfailover: kill -9 of %s, then restart; writes back to back through client %s and straight to a server that stays up,\n"+
			"  %s timeout each, %s pause after a failure; a write column is the time from the kill to the end of the first write sent after it that succeeded\n",
			what, f.Client, f.WriteTimeout, f.RetryPause)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "kill\tkilled\tled\tkv stream leader\twrite to a server\twrite through %s\tfailed writes\thealthy after restart\tthen catalog/kv\t\n", f.Client)
		for _, k := range f.Kills {
			healthy, after := bench.FormatDuration(k.Healthy), k.After.Catalog+"/"+k.After.KV
			if k.Error != "" {
				after = "-"
				if k.Healthy == 0 {
					healthy = "-"
				}
			}
			took := bench.FormatDuration(k.Took)
			if k.Took == 0 {
				took = "none"
			}
			stream := k.StreamLeader
			if stream == "" {
				stream = "-"
			}
			direct := "none"
			if k.Direct > 0 {
				direct = k.Survivor + " " + bench.FormatDuration(k.Direct)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", k.N, k.Node, k.Led, stream, direct, took, k.Failed, healthy, after)
		}
		tw.Flush()
		fmt.Fprintf(w, "  through %s: median %s, max %s over %d kills; straight to a server: median %s, max %s\n", f.Client,
			bench.FormatDuration(f.Median), bench.FormatDuration(f.Max), len(f.Kills), bench.FormatDuration(f.DirectMedian), bench.FormatDuration(f.DirectMax))
		errs := map[string]int{}
		var order []string
		for _, k := range f.Kills {
			if k.FirstError != "" {
				if errs[k.FirstError] == 0 {
					order = append(order, k.FirstError)
				}
				errs[k.FirstError]++
			}
		}
		for _, e := range order {
			fmt.Fprintf(w, "  first failed write after %d kill(s): %s\n", errs[e], e)
		}
		for _, k := range f.Kills {
			if k.Error != "" {
				fmt.Fprintf(w, "  kill %d: %s\n", k.N, firstLine(k.Error))
			}
		}
	}
	if r.FailoverError != "" {
		// The error, with the end of a server's log, went to stderr.
		fmt.Fprintln(w, "failover stopped early:", firstLine(r.FailoverError))
	}

	if note := bench.LoadNote(r.LoadStart, r.LoadEnd); note != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, note)
	}
	if r.ForeignCPU != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, bench.NoiseNote(*r.ForeignCPU, "ratios"))
		var per []string
		for _, name := range scenarioOrder {
			if s, ok := r.Noise[name]; ok {
				per = append(per, fmt.Sprintf("%s %.0f%%", name, s*100))
			}
		}
		if len(per) > 1 {
			fmt.Fprintf(w, "  by scenario: %s\n", strings.Join(per, ", "))
		}
	}
	fmt.Fprint(w, "\nchecks:\n")
	bench.PrintChecks(w, r.Checks)
}

// ratioLines are the ratio lines under a scenario's rows, or "".
func (r *report) ratioLines(scenario string) string {
	var lines []string
	for _, x := range r.Ratios {
		if x.Scenario == scenario {
			lines = append(lines, fmt.Sprintf("\t%s\tx%.2f\tx%.2f\tx%.2f\tx%.2f\tx%.2f\t\t", x.Name, x.Ops, x.P50, x.P90, x.P99, x.Max))
		}
	}
	return strings.Join(lines, "\n")
}
