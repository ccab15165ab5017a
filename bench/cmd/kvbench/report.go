package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/bench"
)

// The targets Herald is held to (see bench/README.md).
const (
	putRatioTarget = 2.0       // Herald put@64 ops/s over etcd's
	getOpsTarget   = 40000.0   // Herald get@32 ops/s: twice the 19,989/s measured on 2026-12-05
	idleRSSTarget  = 50 * 1e6  // bytes, for an idle `herald agent -dev`
	loadRSSTarget  = 170 * 1e6 // bytes, Herald's peak RSS over a run that includes put@64
)

// row is one scenario's result on one target.
type row = bench.Row

// peers are the servers Herald is compared with, in the order their
// ratios are printed.
var peers = []string{"etcd", "consul"}

// ratio compares Herald with a peer on one scenario.
type ratio struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"` // herald, or herald-before
	Peer     string  `json:"peer"`
	Ops      float64 `json:"ops_per_sec"` // Herald's over the peer's; above 1 is better
	P50      float64 `json:"p50"`         // Herald's over the peer's; below 1 is better
}

// check is one target with its outcome: PASS, MISS, or n/a when the run
// did not measure what it needs.
type check = bench.Check

// report is everything a run measured; it is printed and written as JSON.
type report struct {
	Started       time.Time `json:"started"`
	CPUs          int       `json:"cpus"`
	EtcdVersion   string    `json:"etcd_version,omitempty"`
	ConsulVersion string    `json:"consul_version,omitempty"`
	HeraldBinary  string    `json:"herald_binary,omitempty"`
	// HeraldBeforeBinary is the second Herald measured (-herald-before).
	HeraldBeforeBinary string           `json:"herald_before_binary,omitempty"`
	Duration           string           `json:"duration_per_target"`
	Rounds             int              `json:"rounds"`
	Keys               int              `json:"keys"`
	ValueSize          int              `json:"value_size"`
	Results            []row            `json:"results"`
	CPU                []cpuUse         `json:"cpu,omitempty"`
	Ratios             []ratio          `json:"ratios,omitempty"`
	PeakRSS            map[string]int64 `json:"peak_rss_bytes"`
	HeraldIdleRSS      int64            `json:"herald_idle_rss_bytes,omitempty"`
	// LoadStart and LoadEnd are the machine's load averages (1, 5 and 15
	// minutes) before the servers started and after the last scenario.
	LoadStart string `json:"load_average_start,omitempty"`
	LoadEnd   string `json:"load_average_end,omitempty"`
	// ForeignCPU is the share of CPU time other processes took while the
	// scenarios ran; nil where it cannot be read.
	ForeignCPU *float64 `json:"foreign_cpu_share,omitempty"`
	Checks     []check  `json:"checks"`
}

// find returns the result of scenario on target, if measured.
func (r *report) find(scenario, target string) (bench.Result, bool) {
	return bench.FindRow(r.Results, scenario, target)
}

// compute fills Ratios and Checks from Results.
func (r *report) compute() {
	r.Ratios = nil
	for _, x := range r.Results {
		if slices.Contains(peers, x.Target) {
			continue
		}
		for _, peer := range peers {
			e, ok := r.find(x.Scenario, peer)
			if !ok || e.OpsPerSec == 0 || e.P50 == 0 {
				continue
			}
			r.Ratios = append(r.Ratios, ratio{Scenario: x.Scenario, Target: x.Target, Peer: peer,
				Ops: x.OpsPerSec / e.OpsPerSec, P50: float64(x.P50) / float64(e.P50)})
		}
	}

	r.Checks = nil
	add := func(name, got string, ok, measured bool) {
		r.Checks = append(r.Checks, bench.NewCheck(name, got, ok, measured))
	}
	// A result with errors passes nothing: failed operations are cheap and
	// would flatter the numbers.
	errNote := func(rs ...bench.Result) string {
		for _, x := range rs {
			if x.Errors > 0 {
				return fmt.Sprintf(" (%d errors)", x.Errors)
			}
		}
		return ""
	}

	h, hok := r.find("put@64", "herald")
	e, eok := r.find("put@64", "etcd")
	got := "not measured"
	if hok && eok {
		got = fmt.Sprintf("x%.2f (%.0f vs %.0f ops/s)%s", h.OpsPerSec/e.OpsPerSec, h.OpsPerSec, e.OpsPerSec, errNote(h, e))
	}
	add(fmt.Sprintf("put@64 ops/s herald/etcd >= %.1f", putRatioTarget), got,
		hok && eok && h.OpsPerSec >= putRatioTarget*e.OpsPerSec && errNote(h, e) == "", hok && eok)

	h, hok = r.find("put@1", "herald")
	e, eok = r.find("put@1", "etcd")
	got = "not measured"
	if hok && eok {
		got = fmt.Sprintf("%s vs %s%s", fmtDur(h.P50), fmtDur(e.P50), errNote(h, e))
	}
	add("put@1 p50 herald <= etcd", got, hok && eok && h.P50 <= e.P50 && errNote(h, e) == "", hok && eok)

	h, hok = r.find("get@32", "herald")
	got = "not measured"
	if hok {
		got = fmt.Sprintf("%.0f ops/s%s", h.OpsPerSec, errNote(h))
	}
	add(fmt.Sprintf("get@32 herald ops/s >= %.0f", getOpsTarget), got,
		hok && h.OpsPerSec >= getOpsTarget && errNote(h) == "", hok)

	got = "not measured"
	if r.HeraldIdleRSS > 0 {
		got = fmtMB(r.HeraldIdleRSS)
	}
	add(fmt.Sprintf("idle herald -dev RSS <= %s", fmtMB(idleRSSTarget)), got,
		r.HeraldIdleRSS <= idleRSSTarget, r.HeraldIdleRSS > 0)

	// Peak memory counts only when the heaviest write load ran.
	_, putRan := r.find("put@64", "herald")
	peak, peakOK := r.PeakRSS["herald"]
	got = "not measured"
	if putRan && peakOK {
		got = fmtMB(peak)
	}
	add(fmt.Sprintf("herald peak RSS under put@64 <= %s", fmtMB(loadRSSTarget)), got,
		peak <= loadRSSTarget, putRan && peakOK)
}

// missed reports whether any check was measured and missed.
func (r *report) missed() bool { return bench.Missed(r.Checks) }

// print writes the human-readable report.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nkvbench: %s measured per target per scenario in %d slices, %d CPUs, %d keys, %d-byte values",
		r.Duration, r.Rounds, r.CPUs, r.Keys, r.ValueSize)
	if r.EtcdVersion != "" {
		fmt.Fprintf(w, ", %s (native gRPC client)", r.EtcdVersion)
	}
	if r.ConsulVersion != "" {
		fmt.Fprintf(w, ", %s", r.ConsulVersion)
	}
	fmt.Fprint(w, "\n")
	if note := bench.LoadNote(r.LoadStart, r.LoadEnd); note != "" {
		fmt.Fprintln(w, note)
	}
	fmt.Fprint(w, "\n")

	bench.PrintResults(w, r.Results, r.ratioLine)
	if len(r.PeakRSS) > 0 {
		fmt.Fprint(w, "\npeak RSS during the run:")
		for _, name := range []string{"etcd", "consul", "herald", "herald-before"} {
			if b, ok := r.PeakRSS[name]; ok {
				fmt.Fprintf(w, " %s %s", name, fmtMB(b))
			}
		}
		fmt.Fprintln(w)
	}

	r.printCPU(w)
	if r.ForeignCPU != nil {
		fmt.Fprintln(w, bench.NoiseNote(*r.ForeignCPU, "ratios"))
	}

	fmt.Fprint(w, "\ntargets:\n")
	bench.PrintChecks(w, r.Checks)
}

// ratioLine is the herald/peer lines under a scenario, one a peer, or "".
func (r *report) ratioLine(scenario string) string {
	var lines []string
	for _, x := range r.Ratios {
		if x.Scenario == scenario {
			lines = append(lines, fmt.Sprintf("\t%s/%s\tx%.2f\tx%.2f\t\t\t\t\t", x.Target, x.Peer, x.Ops, x.P50))
		}
	}
	return strings.Join(lines, "\n")
}

// writeJSON writes the report to path.
func (r *report) writeJSON(path string) error { return bench.WriteJSON(path, r) }

// fmtDur prints a latency with three significant figures or so.
func fmtDur(d time.Duration) string { return bench.FormatDuration(d) }

// fmtMB prints bytes in decimal megabytes, the unit of the memory target.
func fmtMB(b int64) string { return bench.FormatMB(b) }

// cpuUse is the CPU time (user and system, in clock ticks of 10 ms) one
// server process used during a scenario's measured slices, and the
// operations it completed meanwhile.
type cpuUse struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Ticks    uint64 `json:"ticks"`
	Ops      uint64 `json:"ops"`
}

// ticksPerSecond is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// Linux whatever the kernel's own tick.
const ticksPerSecond = 100

// perOp is the CPU time per completed operation, 0 without operations.
func (c cpuUse) perOp() time.Duration {
	if c.Ops == 0 {
		return 0
	}
	return time.Duration(float64(c.Ticks) * float64(time.Second) / ticksPerSecond / float64(c.Ops))
}

// printCPU writes each scenario's server CPU time per operation. Unlike
// ops/s, it depends little on how busy the machine is: a server that
// needs more CPU per write than its peer falls behind it as soon as the
// CPUs are shared.
func (r *report) printCPU(w io.Writer) {
	if len(r.CPU) == 0 {
		return
	}
	fmt.Fprint(w, "server CPU per operation (user+system, measured slices):\n")
	for i := 0; i < len(r.CPU); {
		j := i
		var parts []string
		for ; j < len(r.CPU) && r.CPU[j].Scenario == r.CPU[i].Scenario; j++ {
			parts = append(parts, fmt.Sprintf("%s %s", r.CPU[j].Target, fmtDur(r.CPU[j].perOp())))
		}
		fmt.Fprintf(w, "  %s: %s\n", r.CPU[i].Scenario, strings.Join(parts, ", "))
		i = j
	}
}
