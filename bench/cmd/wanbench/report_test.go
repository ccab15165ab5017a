package main

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/bench"
)

func TestReportRatios(t *testing.T) {
	var r report
	r.add("kv get@16", bench.Result{OpsPerSec: 1000, P50: time.Millisecond, P99: 4 * time.Millisecond},
		bench.Result{OpsPerSec: 250, P50: 3 * time.Millisecond, P99: 10 * time.Millisecond})
	r.add("empty", bench.Result{}, bench.Result{OpsPerSec: 5})
	got := r.Rows[0]
	if got.RateRatio != 0.25 || got.P50Ratio != 3 || got.P99Ratio != 2.5 {
		t.Errorf("ratios %+v, want 0.25, 3, 2.5", got)
	}
	if r.Rows[1].RateRatio != 0 {
		t.Errorf("a ratio over nothing: %v, want 0", r.Rows[1].RateRatio)
	}
	var out strings.Builder
	r.print(&out)
	if !strings.Contains(out.String(), "kv get@16") || !strings.Contains(out.String(), "0.25") {
		t.Errorf("printed:\n%s", out.String())
	}
}
