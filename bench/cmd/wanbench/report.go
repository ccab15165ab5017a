package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/bench"
)

// report is what wanbench prints and writes as JSON.
type report struct {
	Duration string `json:"duration"`
	Rows     []row  `json:"rows"`
}

// row is one scenario answered by dc2 itself (Local) and asked of dc1 for
// dc2 (Cross), with the cross one's rate and latencies as multiples of
// the local one's.
type row struct {
	Scenario  string       `json:"scenario"`
	Local     bench.Result `json:"local"`
	Cross     bench.Result `json:"cross"`
	RateRatio float64      `json:"rate_ratio"` // cross rate / local rate
	P50Ratio  float64      `json:"p50_ratio"`  // cross p50 / local p50
	P99Ratio  float64      `json:"p99_ratio"`  // cross p99 / local p99
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func (r *report) add(scenario string, local, cross bench.Result) {
	d := func(x time.Duration) float64 { return float64(x) }
	r.Rows = append(r.Rows, row{Scenario: scenario, Local: local, Cross: cross,
		RateRatio: ratio(cross.OpsPerSec, local.OpsPerSec),
		P50Ratio:  ratio(d(cross.P50), d(local.P50)),
		P99Ratio:  ratio(d(cross.P99), d(local.P99))})
}

func (r *report) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tlocal\tcross\tcross/local\tp50 local\tp50 cross\tx\tp99 local\tp99 cross\tx")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%.0f/s\t%.0f/s\t%.2f\t%s\t%s\t%.1f\t%s\t%s\t%.1f\n", row.Scenario,
			row.Local.OpsPerSec, row.Cross.OpsPerSec, row.RateRatio,
			bench.FormatDuration(row.Local.P50), bench.FormatDuration(row.Cross.P50), row.P50Ratio,
			bench.FormatDuration(row.Local.P99), bench.FormatDuration(row.Cross.P99), row.P99Ratio)
	}
	tw.Flush()
}
