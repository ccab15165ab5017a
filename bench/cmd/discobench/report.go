package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/bench"
)

// The targets Herald is held to (see bench/README.md).
const (
	dnsRatioTarget = 0.8                   // Herald's DNS SRV ops/s over the bare server's
	watchP99Target = 50 * time.Millisecond // watchers woken by one change, p99
	consulTarget   = 10.0                  // Herald's ops/s over Consul's, health and register
)

// consulTargets are the scenarios held to consulTarget.
var consulTargets = []string{"health", "register"}

// row is one scenario's result on one target.
type row = bench.Row

// check is one target with its outcome: PASS, MISS, or n/a when the run
// did not measure it.
type check = bench.Check

// watchReport is the watch fan-out on one server with its memory around
// it.
type watchReport struct {
	bench.FanoutResult
	Target    string `json:"target"`
	Asked     int    `json:"watchers_asked"`
	CapNote   string `json:"cap_note,omitempty"` // why fewer watchers ran than asked
	Path      string `json:"path"`
	Instances int    `json:"instances"`
	RSSBefore int64  `json:"rss_before_bytes"`
	RSSDuring int64  `json:"rss_during_bytes"`
	// CPU time the server and discobench used from the change until
	// every watcher had answered (WakeWall), to tell server from client
	// cost.
	WakeWall      time.Duration `json:"wake_wall_ns,omitempty"`
	WakeServerCPU time.Duration `json:"wake_server_cpu_ns,omitempty"`
	WakeOwnCPU    time.Duration `json:"wake_discobench_cpu_ns,omitempty"`
}

// registerReport says, for one server, how far its catalog had followed
// the agent registrations when the register scenario's last slice ended,
// and how long it then took to hold them all.
type registerReport struct {
	Target     string        `json:"target"`
	Registered int           `json:"registered"`            // successful registrations, warm-up included
	InCatalog  int           `json:"in_catalog"`            // of them, in the catalog at the end
	CatchUp    time.Duration `json:"catch_up_ns,omitempty"` // from InCatalog's read until all were there
	CaughtUp   bool          `json:"caught_up"`             // false: not within catchUpTimeout
	Error      string        `json:"error,omitempty"`
}

// versus is Herald's result over Consul's in one scenario measured on both.
type versus struct {
	Scenario string  `json:"scenario"`
	Ops      float64 `json:"ops_ratio"` // Herald's ops/s over Consul's: above 1, Herald serves more
	P50      float64 `json:"p50_ratio"` // Herald's p50 over Consul's: below 1, Herald answers sooner
	Errors   uint64  `json:"errors"`    // both targets' failed operations
}

// newVersus divides Herald's result h by Consul's c; false if c measured
// nothing to divide by.
func newVersus(scenario string, h, c bench.Result) (versus, bool) {
	if c.OpsPerSec <= 0 || c.P50 <= 0 {
		return versus{}, false
	}
	return versus{Scenario: scenario, Ops: h.OpsPerSec / c.OpsPerSec, P50: float64(h.P50) / float64(c.P50),
		Errors: h.Errors + c.Errors}, true
}

// report is everything a run measured; it is printed and written as JSON.
type report struct {
	Started      time.Time `json:"started"`
	CPUs         int       `json:"cpus"`
	HeraldBinary string    `json:"herald_binary"`
	Duration     string    `json:"duration_per_target"`
	Rounds       int       `json:"dns_rounds"`
	DNSAnswer    string    `json:"dns_answer,omitempty"` // the answer both DNS targets give
	Bare         string    `json:"bare_server"`          // inproc or process
	// ConsulBinary and ConsulVersion name the Consul measured beside
	// Herald, if any; ConsulDNSAnswer is the answer its DNS gave.
	ConsulBinary    string           `json:"consul_binary,omitempty"`
	ConsulVersion   string           `json:"consul_version,omitempty"`
	ConsulDNSAnswer string           `json:"consul_dns_answer,omitempty"`
	Results         []row            `json:"results"`
	DNSRatio        float64          `json:"dns_ops_ratio,omitempty"` // Herald's over the bare server's
	DNSP50Ratio     float64          `json:"dns_p50_ratio,omitempty"`
	Versus          []versus         `json:"herald_over_consul,omitempty"`
	Watch           *watchReport     `json:"watch,omitempty"`
	ConsulWatch     *watchReport     `json:"consul_watch,omitempty"` // the same on Consul, held to no target
	Register        []registerReport `json:"register,omitempty"`
	PeakRSS         int64            `json:"herald_peak_rss_bytes,omitempty"`
	ConsulPeakRSS   int64            `json:"consul_peak_rss_bytes,omitempty"`
	OpenFiles       uint64           `json:"open_file_limit"`
	OpenFilesMsg    string           `json:"open_file_note,omitempty"`
	// ForeignCPU is the share of CPU time other processes took while the
	// scenarios ran; nil where it cannot be read.
	ForeignCPU *float64 `json:"foreign_cpu_share,omitempty"`
	// LoadStart and LoadEnd are the machine's load averages before the
	// server started and after the last scenario.
	LoadStart string  `json:"load_average_start,omitempty"`
	LoadEnd   string  `json:"load_average_end,omitempty"`
	Checks    []check `json:"checks"`
}

func (r *report) find(scenario, target string) (bench.Result, bool) {
	return bench.FindRow(r.Results, scenario, target)
}

// scenarioOn is the first scenario named kind ("dns@32" for "dns")
// measured on target, or "".
func (r *report) scenarioOn(kind, target string) string {
	for _, x := range r.Results {
		if x.Target == target && strings.HasPrefix(x.Scenario, kind+"@") {
			return x.Scenario
		}
	}
	return ""
}

// versusConsul returns Herald's result over Consul's in scenario, if the
// run measured both there.
func (r *report) versusConsul(scenario string) (versus, bool) {
	for _, v := range r.Versus {
		if v.Scenario == scenario {
			return v, true
		}
	}
	return versus{}, false
}

// compute fills the ratios and checks.
func (r *report) compute() {
	r.Checks, r.Versus = nil, nil
	add := func(name, got string, ok, measured bool) {
		r.Checks = append(r.Checks, bench.NewCheck(name, got, ok, measured))
	}
	for _, kind := range scenarioOrder {
		sc := r.scenarioOn(kind, "consul")
		h, hok := r.find(sc, "herald")
		c, cok := r.find(sc, "consul")
		if !hok || !cok {
			continue
		}
		if v, ok := newVersus(sc, h, c); ok {
			r.Versus = append(r.Versus, v)
		}
	}

	dnsScenario := r.scenarioOn("dns", "bare")
	h, hok := r.find(dnsScenario, "herald")
	b, bok := r.find(dnsScenario, "bare")
	got := "not measured"
	ok := false
	if hok && bok && b.OpsPerSec > 0 && b.P50 > 0 {
		r.DNSRatio = h.OpsPerSec / b.OpsPerSec
		r.DNSP50Ratio = float64(h.P50) / float64(b.P50)
		got = fmt.Sprintf("x%.3f (%.0f vs %.0f ops/s)", r.DNSRatio, h.OpsPerSec, b.OpsPerSec)
		ok = r.DNSRatio >= dnsRatioTarget && h.Errors == 0 && b.Errors == 0
		if h.Errors+b.Errors > 0 {
			got += fmt.Sprintf(" (%d errors)", h.Errors+b.Errors)
		}
	}
	add(fmt.Sprintf("dns SRV ops/s herald/bare >= %.1f", dnsRatioTarget), got, ok, hok && bok)

	for _, kind := range consulTargets {
		sc := r.scenarioOn(kind, "consul")
		v, measured := r.versusConsul(sc)
		name := fmt.Sprintf("%s herald/consul >= %.0f", kind, consulTarget)
		got, ok := "not measured", false
		if measured {
			name = fmt.Sprintf("%s herald/consul >= %.0f", sc, consulTarget)
			h, _ := r.find(sc, "herald")
			c, _ := r.find(sc, "consul")
			got = fmt.Sprintf("x%.2f (%.0f vs %.0f ops/s)", v.Ops, h.OpsPerSec, c.OpsPerSec)
			if v.Errors > 0 {
				got += fmt.Sprintf(" (%d errors)", v.Errors)
			}
			ok = v.Ops >= consulTarget && v.Errors == 0
		}
		add(name, got, ok, measured)
	}

	name := fmt.Sprintf("watchers p99 < %s", fmtDur(watchP99Target))
	got, ok = "not measured", false
	if w := r.Watch; w != nil {
		name = fmt.Sprintf("%d watchers p99 < %s", w.Watchers, fmtDur(watchP99Target))
		got = fmt.Sprintf("p99 %s, %d of %d woken", fmtDur(w.P99), w.Woken, w.Watchers)
		if w.Early+w.Errors > 0 {
			got += fmt.Sprintf(" (%d early, %d errors)", w.Early, w.Errors)
		}
		if w.Watchers < w.Asked {
			got += fmt.Sprintf("; %d asked, capped by the open-file limit", w.Asked)
		}
		ok = w.Woken == w.Watchers && w.Woken > 0 && w.P99 < watchP99Target
	}
	add(name, got, ok, r.Watch != nil)
}

func (r *report) missed() bool { return bench.Missed(r.Checks) }

// print writes the human-readable report.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\ndiscobench: %s measured per target per scenario (DNS in %d slices, targets alternating), %d CPUs, %s\n",
		r.Duration, r.Rounds, r.CPUs, r.HeraldBinary)
	if r.DNSAnswer != "" {
		where := "in discobench's process"
		if r.Bare == "process" {
			where = "in a process of its own"
		}
		fmt.Fprintf(w, "DNS answer, from Herald and replayed by the bare server (%s): %s\n", where, r.DNSAnswer)
	}
	if r.ConsulBinary != "" {
		fmt.Fprintf(w, "consul: %s (%s), one server persisting to disk, measured beside Herald, slices alternating\n",
			cmp.Or(r.ConsulVersion, "version unknown"), r.ConsulBinary)
		if r.ConsulDNSAnswer != "" {
			fmt.Fprintf(w, "Consul's DNS answer: %s\n", r.ConsulDNSAnswer)
		}
	}
	fmt.Fprintln(w)

	if len(r.Results) > 0 {
		bench.PrintResults(w, r.Results, func(scenario string) string {
			var lines []string
			if r.DNSRatio > 0 && scenario == r.scenarioOn("dns", "bare") {
				lines = append(lines, fmt.Sprintf("\therald/bare\tx%.2f\tx%.2f\t\t\t\t\t", r.DNSRatio, r.DNSP50Ratio))
			}
			if v, ok := r.versusConsul(scenario); ok {
				lines = append(lines, fmt.Sprintf("\therald/consul\tx%.2f\tx%.2f\t\t\t\t\t", v.Ops, v.P50))
			}
			return strings.Join(lines, "\n")
		})
	}
	for _, g := range r.Register {
		fmt.Fprintf(w, "register on %s: %d services registered with the agent", g.Target, g.Registered)
		switch {
		case g.Error != "":
			fmt.Fprintf(w, "; catalog not read: %s\n", g.Error)
		case g.CaughtUp && g.InCatalog >= g.Registered:
			fmt.Fprintf(w, ", all of them in the catalog when the last slice ended\n")
		case g.CaughtUp:
			fmt.Fprintf(w, ", %d of them (%.0f%%) in the catalog when the last slice ended, all %s later\n",
				g.InCatalog, 100*float64(g.InCatalog)/float64(max(g.Registered, 1)), fmtDur(g.CatchUp))
		default:
			fmt.Fprintf(w, ", %d of them (%.0f%%) in the catalog when the last slice ended, NOT all within %s\n",
				g.InCatalog, 100*float64(g.InCatalog)/float64(max(g.Registered, 1)), catchUpTimeout)
		}
	}

	for i, x := range []*watchReport{r.Watch, r.ConsulWatch} {
		if x == nil {
			continue
		}
		if len(r.Results) > 0 || len(r.Register) > 0 || i > 0 {
			fmt.Fprintln(w)
		}
		x.print(w, r.CPUs)
	}

	var notes []string
	if r.PeakRSS > 0 {
		notes = append(notes, "herald peak RSS during the run: "+fmtMB(r.PeakRSS))
	}
	if r.ConsulPeakRSS > 0 {
		notes = append(notes, "consul peak RSS during the run: "+fmtMB(r.ConsulPeakRSS))
	}
	if r.OpenFilesMsg != "" {
		notes = append(notes, "open files: "+r.OpenFilesMsg)
	}
	if note := bench.LoadNote(r.LoadStart, r.LoadEnd); note != "" {
		notes = append(notes, note)
	}
	if r.ForeignCPU != nil {
		notes = append(notes, bench.NoiseNote(*r.ForeignCPU, "the ratios of interleaved targets"))
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}

	fmt.Fprint(w, "\ntargets:\n")
	bench.PrintChecks(w, r.Checks)
}

func (r *report) writeJSON(path string) error { return bench.WriteJSON(path, r) }

// fmtDur prints a latency with three significant figures or so.
func fmtDur(d time.Duration) string { return bench.FormatDuration(d) }

// fmtMB prints bytes in decimal megabytes.
func fmtMB(b int64) string { return bench.FormatMB(b) }

// print writes the watch fan-out on one server.
func (x *watchReport) print(w io.Writer, cpus int) {
	fmt.Fprintf(w, "watch on %s: %d blocking queries on %s?index=%d (%d instances), then one check passing -> warning\n",
		x.Target, x.Watchers, x.Path, x.Index, x.Instances)
	if x.CapNote != "" {
		fmt.Fprintf(w, "  %s\n", x.CapNote)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "in flight\twoken\tearly\terrors\tp50\tp90\tp99\tmax\tchange took\t")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", x.InFlight, x.Woken, x.Early, x.Errors,
		fmtDur(x.P50), fmtDur(x.P90), fmtDur(x.P99), fmtDur(x.Max), fmtDur(x.ChangeTook))
	tw.Flush()
	if x.FirstError != "" {
		fmt.Fprintf(w, "  first watcher error: %s\n", x.FirstError)
	}
	settled := "settled"
	if !x.Settled {
		settled = "had NOT settled (timed out)"
	}
	fmt.Fprintf(w, "  sending every query took %s; the server then %s in %s\n",
		fmtDur(x.Connect), settled, fmtDur(x.Settle))
	if x.WakeWall > 0 {
		fmt.Fprintf(w, "  from the change to the last answer (%s): %s used %s of CPU, discobench (the watchers) %s, on %d CPUs\n",
			fmtDur(x.WakeWall), x.Target, fmtDur(x.WakeServerCPU), fmtDur(x.WakeOwnCPU), cpus)
	}
	if x.RSSBefore > 0 && x.RSSDuring > 0 {
		fmt.Fprintf(w, "  %s RSS: %s before, %s during the watches (%+.1f kB per watch)\n",
			x.Target, fmtMB(x.RSSBefore), fmtMB(x.RSSDuring), float64(x.RSSDuring-x.RSSBefore)/1e3/float64(max(x.InFlight, 1)))
	}
}
