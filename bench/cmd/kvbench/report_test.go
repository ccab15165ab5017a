package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/bench"
)

func res(ops float64, p50 time.Duration, errs uint64) bench.Result {
	return bench.Result{OpsPerSec: ops, P50: p50, Errors: errs}
}

func statuses(r *report) []string {
	var s []string
	for _, c := range r.Checks {
		s = append(s, c.Status)
	}
	return s
}

func TestChecks(t *testing.T) {
	r := &report{
		Results: []row{
			{Scenario: "put@1", Target: "etcd", Result: res(1000, 800*time.Microsecond, 0)},
			{Scenario: "put@1", Target: "herald", Result: res(1200, 700*time.Microsecond, 0)},
			{Scenario: "put@64", Target: "etcd", Result: res(5000, 10*time.Millisecond, 0)},
			{Scenario: "put@64", Target: "herald", Result: res(9999, 5*time.Millisecond, 0)},
			{Scenario: "get@32", Target: "herald", Result: res(41000, time.Millisecond, 0)},
		},
		HeraldIdleRSS: 40e6,
		PeakRSS:       map[string]int64{"herald": 160e6},
	}
	r.compute()
	// put@64 is just under 2x: a miss; the others pass.
	if got, want := strings.Join(statuses(r), ","), "MISS,PASS,PASS,PASS,PASS"; got != want {
		t.Fatalf("statuses %s, want %s: %+v", got, want, r.Checks)
	}
	if len(r.Ratios) != 2 || r.Ratios[0].Scenario != "put@1" || r.Ratios[0].Ops != 1.2 || r.Ratios[0].P50 != 0.875 {
		t.Errorf("ratios %+v", r.Ratios)
	}
	if !r.missed() {
		t.Error("missed() false with a MISS")
	}

	// Errors spoil a pass; a slower p50 and a big RSS miss; get@32 on etcd
	// alone is not measured.
	r.Results[3].Errors, r.Results[3].OpsPerSec = 3, 20000
	r.Results[1].P50 = 900 * time.Microsecond
	r.Results = r.Results[:4]
	r.HeraldIdleRSS = 51e6
	r.PeakRSS["herald"] = 171e6
	r.compute()
	if got, want := strings.Join(statuses(r), ","), "MISS,MISS,n/a,MISS,MISS"; got != want {
		t.Fatalf("statuses %s, want %s: %+v", got, want, r.Checks)
	}
	if !strings.Contains(r.Checks[0].Got, "3 errors") {
		t.Errorf("put@64 check does not mention the errors: %q", r.Checks[0].Got)
	}

	var out bytes.Buffer
	r.print(&out)
	for _, want := range []string{"herald/etcd", "x4.00", "MISS", "n/a"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestChecksEtcdOnly(t *testing.T) {
	r := &report{Results: []row{{Scenario: "put@64", Target: "etcd", Result: res(5000, time.Millisecond, 0)}}}
	r.compute()
	if got := strings.Join(statuses(r), ","); got != "n/a,n/a,n/a,n/a,n/a" {
		t.Fatalf("etcd-only statuses %s, want all n/a", got)
	}
	if r.missed() || len(r.Ratios) != 0 {
		t.Errorf("etcd-only run: missed %v ratios %+v", r.missed(), r.Ratios)
	}
}

func TestRatiosPerPeer(t *testing.T) {
	r := &report{
		Results: []row{
			{Scenario: "put@64", Target: "etcd", Result: res(5000, 10*time.Millisecond, 0)},
			{Scenario: "put@64", Target: "consul", Result: res(2500, 20*time.Millisecond, 0)},
			{Scenario: "put@64", Target: "herald", Result: res(10000, 5*time.Millisecond, 0)},
			{Scenario: "put@64", Target: "herald-before", Result: res(7500, 5*time.Millisecond, 0)},
		},
		CPU: []cpuUse{
			{Scenario: "put@64", Target: "etcd", Ticks: 100, Ops: 10000},  // 1 s for 10,000: 100µs
			{Scenario: "put@64", Target: "herald", Ticks: 50, Ops: 20000}, // 25µs
		},
		LoadStart: "1.00 0.50 0.25", LoadEnd: "2.00 1.00 0.50",
	}
	r.compute()
	if len(r.Ratios) != 4 || r.Ratios[0].Peer != "etcd" || r.Ratios[0].Ops != 2 || r.Ratios[1].Peer != "consul" || r.Ratios[1].Ops != 4 ||
		r.Ratios[2].Target != "herald-before" || r.Ratios[2].Ops != 1.5 {
		t.Fatalf("ratios %+v, want herald x2 etcd, x4 consul, then herald-before x1.5 etcd, x3 consul", r.Ratios)
	}
	var out bytes.Buffer
	r.print(&out)
	for _, want := range []string{"herald/etcd", "x2.00", "herald/consul", "x4.00", "herald-before/etcd", "x1.50",
		"1.00 0.50 0.25 at the start, 2.00 1.00 0.50 at the end", "put@64: etcd 100µs, herald 25µs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
