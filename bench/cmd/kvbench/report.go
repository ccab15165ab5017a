package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/bench"
)

// The targets Herald is held to (see bench/README.md).
const (
	putRatioTarget = 2.0       // Herald put@64 ops/s over etcd's
	getOpsTarget   = 30000.0   // Herald get@32 ops/s
	idleRSSTarget  = 100 * 1e6 // bytes, for an idle `herald agent -dev`
)

// row is one scenario's result on one target.
type row struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	bench.Result
}

// ratio compares Herald with etcd on one scenario.
type ratio struct {
	Scenario string  `json:"scenario"`
	Ops      float64 `json:"ops_per_sec"` // Herald's over etcd's; above 1 is better
	P50      float64 `json:"p50"`         // Herald's over etcd's; below 1 is better
}

// check is one target with its outcome: PASS, MISS, or n/a when the run
// did not measure what it needs.
type check struct {
	Name   string `json:"name"`
	Got    string `json:"got"`
	Status string `json:"status"`
}

// report is everything a run measured; it is printed and written as JSON.
type report struct {
	Started       time.Time        `json:"started"`
	CPUs          int              `json:"cpus"`
	EtcdVersion   string           `json:"etcd_version,omitempty"`
	HeraldBinary  string           `json:"herald_binary,omitempty"`
	Duration      string           `json:"duration_per_target"`
	Rounds        int              `json:"rounds"`
	Keys          int              `json:"keys"`
	ValueSize     int              `json:"value_size"`
	Results       []row            `json:"results"`
	Ratios        []ratio          `json:"ratios,omitempty"`
	PeakRSS       map[string]int64 `json:"peak_rss_bytes"`
	HeraldIdleRSS int64            `json:"herald_idle_rss_bytes,omitempty"`
	// ForeignCPU is the share of CPU time other processes took while the
	// scenarios ran; nil where it cannot be read.
	ForeignCPU *float64 `json:"foreign_cpu_share,omitempty"`
	Checks     []check  `json:"checks"`
}

// find returns the result of scenario on target, if measured.
func (r *report) find(scenario, target string) (bench.Result, bool) {
	for _, x := range r.Results {
		if x.Scenario == scenario && x.Target == target {
			return x.Result, true
		}
	}
	return bench.Result{}, false
}

// compute fills Ratios and Checks from Results.
func (r *report) compute() {
	r.Ratios = nil
	for _, x := range r.Results {
		if x.Target != "herald" {
			continue
		}
		e, ok := r.find(x.Scenario, "etcd")
		if !ok || e.OpsPerSec == 0 || e.P50 == 0 {
			continue
		}
		r.Ratios = append(r.Ratios, ratio{Scenario: x.Scenario,
			Ops: x.OpsPerSec / e.OpsPerSec, P50: float64(x.P50) / float64(e.P50)})
	}

	r.Checks = nil
	add := func(name, got string, ok, measured bool) {
		status := "n/a"
		if measured {
			status = map[bool]string{true: "PASS", false: "MISS"}[ok]
		}
		r.Checks = append(r.Checks, check{Name: name, Got: got, Status: status})
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
}

// missed reports whether any check was measured and missed.
func (r *report) missed() bool {
	for _, c := range r.Checks {
		if c.Status == "MISS" {
			return true
		}
	}
	return false
}

// print writes the human-readable report.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nkvbench: %s measured per target per scenario in %d slices, %d CPUs, %d keys, %d-byte values",
		r.Duration, r.Rounds, r.CPUs, r.Keys, r.ValueSize)
	if r.EtcdVersion != "" {
		fmt.Fprintf(w, ", %s", r.EtcdVersion)
	}
	fmt.Fprint(w, "\n\n")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttarget\tops/s\tp50\tp90\tp99\tmax\terrors\t")
	last := ""
	for _, x := range r.Results {
		if last != "" && x.Scenario != last {
			r.printRatio(tw, last)
		}
		last = x.Scenario
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", x.Scenario, x.Target, x.OpsPerSec,
			fmtDur(x.P50), fmtDur(x.P90), fmtDur(x.P99), fmtDur(x.Max), x.Errors)
	}
	if last != "" {
		r.printRatio(tw, last)
	}
	tw.Flush()

	for _, x := range r.Results {
		if x.FirstError != "" {
			fmt.Fprintf(w, "first error in %s on %s: %s\n", x.Scenario, x.Target, x.FirstError)
		}
	}
	if len(r.PeakRSS) > 0 {
		fmt.Fprint(w, "\npeak RSS during the run:")
		for _, name := range []string{"etcd", "herald"} {
			if b, ok := r.PeakRSS[name]; ok {
				fmt.Fprintf(w, " %s %s", name, fmtMB(b))
			}
		}
		fmt.Fprintln(w)
	}

	if r.ForeignCPU != nil {
		fmt.Fprintln(w, noiseNote(*r.ForeignCPU))
	}

	fmt.Fprint(w, "\ntargets:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Status, c.Name, c.Got)
	}
	tw.Flush()
}

// printRatio writes the herald/etcd line under a scenario, if it has one.
func (r *report) printRatio(w io.Writer, scenario string) {
	for _, x := range r.Ratios {
		if x.Scenario == scenario {
			fmt.Fprintf(w, "\therald/etcd\tx%.2f\tx%.2f\t\t\t\t\t\n", x.Ops, x.P50)
		}
	}
}

// writeJSON writes the report to path.
func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// fmtDur prints a latency with three significant figures or so.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// fmtMB prints bytes in decimal megabytes, the unit of the memory target.
func fmtMB(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
