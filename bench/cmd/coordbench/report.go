package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/bench"
)

// lockReport is what the lock scenario counted beside its row.
type lockReport struct {
	Scenario   string `json:"scenario"`
	Key        string `json:"key"`
	Contenders int    `json:"contenders"`
	Verify     bool   `json:"verify"`
	Attempts   uint64 `json:"acquire_attempts"`
	Refused    uint64 `json:"acquire_refused"`
	Waits      uint64 `json:"blocking_waits"`
	Overlaps   uint64 `json:"overlaps"`
	Verified   uint64 `json:"verified"`
	Mismatches uint64 `json:"mismatches"`
	MinCycles  uint64 `json:"min_cycles_per_contender"`
	MaxCycles  uint64 `json:"max_cycles_per_contender"`
}

// fanoutReport is one fan-out (over HTTP or NATS) with the server's memory
// and CPU around it.
type fanoutReport struct {
	bench.FanoutResult
	Kind    string `json:"kind"` // http or nats
	Unit    string `json:"unit"` // watches or subscriptions
	What    string `json:"what"`
	Subject string `json:"subject,omitempty"`
	Conns   int    `json:"connections,omitempty"`
	Asked   int    `json:"asked"`
	CapNote string `json:"cap_note,omitempty"` // why fewer ran than asked
	// Herald's VmRSS before the waiters were set up and with them set.
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSDuring int64 `json:"rss_during_bytes"`
	// CPU time Herald and coordbench used from the change until every
	// waiter was reached (WakeWall), to tell server from client cost.
	WakeWall      time.Duration `json:"wake_wall_ns,omitempty"`
	WakeHeraldCPU time.Duration `json:"wake_herald_cpu_ns,omitempty"`
	WakeOwnCPU    time.Duration `json:"wake_coordbench_cpu_ns,omitempty"`
}

// report is everything a run measured; it is printed and written as JSON.
type report struct {
	Started      time.Time     `json:"started"`
	CPUs         int           `json:"cpus"`
	HeraldBinary string        `json:"herald_binary"`
	Datacenter   string        `json:"datacenter"`
	Duration     string        `json:"duration"`
	Results      []bench.Row   `json:"results"`
	Lock         *lockReport   `json:"lock,omitempty"`
	HTTPWatch    *fanoutReport `json:"http_watch,omitempty"`
	NATSWatch    *fanoutReport `json:"nats_watch,omitempty"`
	PeakRSS      int64         `json:"herald_peak_rss_bytes,omitempty"`
	OpenFiles    uint64        `json:"open_file_limit"`
	OpenFilesMsg string        `json:"open_file_note,omitempty"`
	// ForeignCPU is the share of CPU time other processes took while the
	// scenarios ran; nil where it cannot be read.
	ForeignCPU *float64      `json:"foreign_cpu_share,omitempty"`
	Checks     []bench.Check `json:"checks"`
}

// compute fills the checks. No performance targets are set for these
// scenarios: the checks are about correctness.
func (r *report) compute() {
	r.Checks = nil
	got, ok := "not measured", false
	if l := r.Lock; l != nil {
		res, _ := bench.FindRow(r.Results, l.Scenario, "herald")
		got = fmt.Sprintf("%d overlaps in %d cycles", l.Overlaps, res.Ops)
		if l.Verify {
			got += fmt.Sprintf(", %d of %d reads after acquiring named another session", l.Mismatches, l.Verified)
		}
		ok = l.Overlaps == 0 && l.Mismatches == 0 && res.Ops > 0
	}
	r.Checks = append(r.Checks, bench.NewCheck("lock held by one contender at a time", got, ok, r.Lock != nil))
	r.Checks = append(r.Checks, fanoutCheck("every HTTP watcher woken", r.HTTPWatch))
	r.Checks = append(r.Checks, fanoutCheck("every NATS subscriber reached", r.NATSWatch))
}

func fanoutCheck(name string, f *fanoutReport) bench.Check {
	if f == nil {
		return bench.NewCheck(name, "not measured", false, false)
	}
	got := fmt.Sprintf("%d of %d", f.Woken, f.Watchers)
	if f.Early+f.Errors > 0 {
		got += fmt.Sprintf(" (%d early, %d errors)", f.Early, f.Errors)
	}
	if f.Watchers < f.Asked {
		got += fmt.Sprintf("; %d asked, capped by the open-file limit", f.Asked)
	}
	return bench.NewCheck(name, got, f.Woken == f.Watchers && f.Woken > 0, true)
}

// print writes the human-readable report.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\ncoordbench: %s measured per scenario (lock, session), %d CPUs, %s, datacenter %s\n\n",
		r.Duration, r.CPUs, r.HeraldBinary, r.Datacenter)

	if len(r.Results) > 0 {
		bench.PrintResults(w, r.Results, nil)
		for _, x := range r.Results {
			switch {
			case r.Lock != nil && x.Scenario == r.Lock.Scenario:
				l := r.Lock
				fmt.Fprintf(w, "%s: an op is one acquire+release cycle of %s by one of %d contenders, each with its own session;\n",
					x.Scenario, l.Key, l.Contenders)
				fmt.Fprintf(w, "  latency is from asking for the lock to holding it; per cycle %.1f acquisitions asked (%.1f refused) and %.1f blocking reads;\n",
					perCycle(l.Attempts, x.Ops), perCycle(l.Refused, x.Ops), perCycle(l.Waits, x.Ops))
				fmt.Fprintf(w, "  cycles per contender %d to %d\n", l.MinCycles, l.MaxCycles)
			case strings.HasPrefix(x.Scenario, "session@"):
				fmt.Fprintf(w, "%s: an op is one session create plus its destroy, both through Raft\n", x.Scenario)
			}
		}
	}
	for _, f := range []*fanoutReport{r.HTTPWatch, r.NATSWatch} {
		if f != nil {
			fmt.Fprintln(w)
			printFanout(w, f, r.CPUs)
		}
	}

	var notes []string
	if r.PeakRSS > 0 {
		notes = append(notes, "herald peak RSS during the run: "+bench.FormatMB(r.PeakRSS))
	}
	if r.OpenFilesMsg != "" {
		notes = append(notes, "open files: "+r.OpenFilesMsg)
	}
	if r.ForeignCPU != nil {
		notes = append(notes, bench.NoiseNote(*r.ForeignCPU, ""))
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}

	fmt.Fprint(w, "\nchecks (no performance targets are set for these scenarios):\n")
	bench.PrintChecks(w, r.Checks)
}

func perCycle(n, cycles uint64) float64 {
	if cycles == 0 {
		return 0
	}
	return float64(n) / float64(cycles)
}

// printFanout writes one fan-out: its table, then how it was set up and
// what it cost.
func printFanout(w io.Writer, f *fanoutReport, cpus int) {
	title := map[string]string{"http": "watch over HTTP", "nats": "watch over NATS"}[f.Kind]
	fmt.Fprintf(w, "%s: %d %s, then one PUT of a key under the prefix\n", title, f.Watchers, f.What)
	if f.CapNote != "" {
		fmt.Fprintf(w, "  %s\n", f.CapNote)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "set\treached\tearly\terrors\tp50\tp90\tp99\tmax\tchange took\t")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", f.InFlight, f.Woken, f.Early, f.Errors,
		bench.FormatDuration(f.P50), bench.FormatDuration(f.P90), bench.FormatDuration(f.P99),
		bench.FormatDuration(f.Max), bench.FormatDuration(f.ChangeTook))
	tw.Flush()
	if f.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", f.FirstError)
	}
	settled := "settled"
	if !f.Settled {
		settled = "had NOT settled (timed out)"
	}
	setup := "sending every query"
	if f.Kind == "nats" {
		setup = "connecting and subscribing (flushed)"
	}
	fmt.Fprintf(w, "  %s took %s; the server then %s in %s\n", setup, bench.FormatDuration(f.Connect), settled, bench.FormatDuration(f.Settle))
	if f.WakeWall > 0 {
		fmt.Fprintf(w, "  from the change to the last receipt (%s): herald used %s of CPU, coordbench %s, on %d CPUs\n",
			bench.FormatDuration(f.WakeWall), bench.FormatDuration(f.WakeHeraldCPU), bench.FormatDuration(f.WakeOwnCPU), cpus)
	}
	if f.RSSBefore > 0 && f.RSSDuring > 0 {
		per := strings.TrimSuffix(f.Unit, "s")
		if f.Unit == "watches" {
			per = "watch"
		}
		fmt.Fprintf(w, "  herald RSS: %s before, %s with the %s set (%+.1f kB per %s)\n",
			bench.FormatMB(f.RSSBefore), bench.FormatMB(f.RSSDuring), f.Unit,
			float64(f.RSSDuring-f.RSSBefore)/1e3/float64(max(f.InFlight, 1)), per)
	}
}
