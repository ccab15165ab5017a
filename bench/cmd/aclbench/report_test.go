package main

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/bench"
)

func TestReportJudgesTheShareOfTheRate(t *testing.T) {
	var r report
	r.add("kv put@64", bench.Result{OpsPerSec: 1000}, bench.Result{OpsPerSec: 950})
	if r.missed() {
		t.Fatalf("0.95 of the rate missed the bar: %+v", r.Rows)
	}
	r.add("dns srv@32", bench.Result{OpsPerSec: 1000}, bench.Result{OpsPerSec: 850})
	if !r.missed() {
		t.Fatal("0.85 of the rate met the bar")
	}
	var out strings.Builder
	r.print(&out)
	if !strings.Contains(out.String(), "0.85") || !strings.Contains(out.String(), "MISSED") {
		t.Fatalf("report:\n%s", out.String())
	}
}
