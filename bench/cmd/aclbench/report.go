package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/heraldhq/herald/bench"
)

// report is what aclbench prints and writes as JSON.
type report struct {
	Duration string `json:"duration"`
	Rows     []row  `json:"rows"`
}

// row is one scenario on both servers, and the share of the rate that
// remains with ACLs on.
type row struct {
	Scenario string       `json:"scenario"`
	Off      bench.Result `json:"acl_off"`
	On       bench.Result `json:"acl_on"`
	Share    float64      `json:"share"`
}

func (r *report) add(scenario string, off, on bench.Result) {
	share := 0.0
	if off.OpsPerSec > 0 {
		share = on.OpsPerSec / off.OpsPerSec
	}
	r.Rows = append(r.Rows, row{Scenario: scenario, Off: off, On: on, Share: share})
}

// missed reports whether a scenario lost more to enforcement than the bar
// allows.
func (r *report) missed() bool {
	for _, row := range r.Rows {
		if row.Share < minShare {
			return true
		}
	}
	return false
}

func (r *report) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tACLs off\tACLs on\ton/off\tp50 off\tp50 on\tp99 off\tp99 on\tbar")
	for _, row := range r.Rows {
		verdict := "ok"
		if row.Share < minShare {
			verdict = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%.0f/s\t%.0f/s\t%.2f\t%s\t%s\t%s\t%s\t≥ %.2f %s\n", row.Scenario, row.Off.OpsPerSec, row.On.OpsPerSec, row.Share,
			bench.FormatDuration(row.Off.P50), bench.FormatDuration(row.On.P50),
			bench.FormatDuration(row.Off.P99), bench.FormatDuration(row.On.P99), minShare, verdict)
	}
	tw.Flush()
}
