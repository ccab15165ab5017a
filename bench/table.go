package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

// This file is the report side shared by the bench commands: result rows,
// target checks, the tables they print and their JSON.

// Row is one scenario's result on one target.
type Row struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Result
}

// Check is one target with its outcome: PASS, MISS, or n/a when the run
// did not measure it.
type Check struct {
	Name   string `json:"name"`
	Got    string `json:"got"`
	Status string `json:"status"`
}

// NewCheck returns a check named name whose measured value reads got:
// n/a if not measured, else PASS if ok and MISS if not.
func NewCheck(name, got string, ok, measured bool) Check {
	status := "n/a"
	if measured {
		status = "MISS"
		if ok {
			status = "PASS"
		}
	}
	return Check{Name: name, Got: got, Status: status}
}

// Missed reports whether any check was measured and missed.
func Missed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == "MISS" {
			return true
		}
	}
	return false
}

// FindRow returns the result of scenario on target, if rows hold it.
func FindRow(rows []Row, scenario, target string) (Result, bool) {
	for _, x := range rows {
		if x.Scenario == scenario && x.Target == target {
			return x.Result, true
		}
	}
	return Result{}, false
}

// PrintResults writes rows as a right-aligned table (scenario, target,
// ops/s, p50, p90, p99, max, errors), then the first error of every row
// that had one. After the rows of each scenario it calls trailer, if not
// nil, which may return a line to add there, tab-separated in the same
// columns without the final newline (e.g. a ratio to another target), or
// "" for none.
func PrintResults(w io.Writer, rows []Row, trailer func(scenario string) string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttarget\tops/s\tp50\tp90\tp99\tmax\terrors\t")
	for i, x := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", x.Scenario, x.Target, x.OpsPerSec,
			FormatDuration(x.P50), FormatDuration(x.P90), FormatDuration(x.P99), FormatDuration(x.Max), x.Errors)
		if trailer != nil && (i+1 == len(rows) || rows[i+1].Scenario != x.Scenario) {
			if line := trailer(x.Scenario); line != "" {
				fmt.Fprintln(tw, line)
			}
		}
	}
	tw.Flush()
	for _, x := range rows {
		if x.FirstError != "" {
			fmt.Fprintf(w, "first error in %s on %s: %s\n", x.Scenario, x.Target, x.FirstError)
		}
	}
}

// PrintChecks writes the checks, one a line: status, name, what was got.
func PrintChecks(w io.Writer, checks []Check) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range checks {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Status, c.Name, c.Got)
	}
	tw.Flush()
}

// WriteJSON writes v to path as indented JSON.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// FormatDuration prints a latency with three significant figures or so,
// "-" for none.
func FormatDuration(d time.Duration) string {
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

// FormatMB prints bytes in decimal megabytes (10^6 bytes).
func FormatMB(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
