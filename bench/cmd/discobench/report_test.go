package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/bench"
)

func statuses(r *report) string {
	var s []string
	for _, c := range r.Checks {
		s = append(s, c.Status)
	}
	return strings.Join(s, ",")
}

func TestChecks(t *testing.T) {
	r := &report{CPUs: 2, Results: []row{
		{Scenario: "dns@32", Target: "herald", Result: bench.Result{OpsPerSec: 8000, P50: 2 * time.Millisecond}},
		{Scenario: "dns@32", Target: "bare", Result: bench.Result{OpsPerSec: 10000, P50: time.Millisecond}},
	}}
	r.Watch = &watchReport{Asked: 20000, FanoutResult: bench.FanoutResult{Watchers: 20000, InFlight: 20000, Woken: 20000, P99: 49 * time.Millisecond}}
	r.compute()
	// Without Consul, its two targets are not measured.
	if got := statuses(r); got != "PASS,n/a,n/a,PASS" {
		t.Fatalf("statuses %s, want PASS,n/a,n/a,PASS: %+v", got, r.Checks)
	}
	if r.DNSRatio != 0.8 || r.DNSP50Ratio != 2 {
		t.Errorf("ratios %v %v", r.DNSRatio, r.DNSP50Ratio)
	}

	// Just under the ratio; one watcher not woken; errors spoil a pass.
	r.Results[0].OpsPerSec = 7999
	r.Watch.Woken = 19999
	r.compute()
	if got := statuses(r); got != "MISS,n/a,n/a,MISS" || !r.missed() {
		t.Fatalf("statuses %s, want MISS,n/a,n/a,MISS", got)
	}
	r.Results[0].OpsPerSec, r.Results[0].Errors = 9000, 4
	r.Watch.Woken, r.Watch.P99 = 20000, 50*time.Millisecond
	r.compute()
	if got := statuses(r); got != "MISS,n/a,n/a,MISS" || !strings.Contains(r.Checks[0].Got, "4 errors") {
		t.Fatalf("statuses %s (%q), want MISS,n/a,n/a,MISS with the errors", got, r.Checks[0].Got)
	}

	// Nothing measured.
	r = &report{}
	r.compute()
	if got := statuses(r); got != "n/a,n/a,n/a,n/a" || r.missed() {
		t.Fatalf("statuses %s, want n/a,n/a,n/a,n/a", got)
	}
	if r.Checks[1].Name != "health herald/consul >= 10" || r.Checks[2].Name != "register herald/consul >= 10" {
		t.Errorf("names of the unmeasured Consul targets: %q, %q", r.Checks[1].Name, r.Checks[2].Name)
	}
}

func TestPrint(t *testing.T) {
	r := &report{CPUs: 2, Duration: "5s", Rounds: 2, DNSAnswer: "10 SRV + 11 additional",
		Results: []row{
			{Scenario: "dns@32", Target: "herald", Result: bench.Result{OpsPerSec: 8000, P50: 2 * time.Millisecond}},
			{Scenario: "dns@32", Target: "bare", Result: bench.Result{OpsPerSec: 10000, P50: time.Millisecond}},
			{Scenario: "register@16", Target: "herald", Result: bench.Result{OpsPerSec: 700, FirstError: "HTTP 500: boom", Errors: 1}},
		},
		Register: []registerReport{{Target: "herald", Registered: 100, InCatalog: 40, CaughtUp: true, CatchUp: 1500 * time.Millisecond}},
		Watch: &watchReport{Target: "herald", Asked: 20000, Path: "/v1/health/service/api", Instances: 30, RSSBefore: 50e6, RSSDuring: 250e6,
			FanoutResult: bench.FanoutResult{Watchers: 10000, InFlight: 10000, Woken: 10000, P99: time.Second, Settled: true},
			WakeWall:     2 * time.Second, WakeServerCPU: time.Second, WakeOwnCPU: 3 * time.Second},
	}
	r.compute()
	r.LoadStart, r.LoadEnd = "3.00 2.00 1.00", "4.00 2.50 1.25"
	var b bytes.Buffer
	r.print(&b)
	out := b.String()
	if !strings.Contains(out, "load average (1, 5, 15 min): 3.00 2.00 1.00 at the start, 4.00 2.50 1.25 at the end") {
		t.Errorf("no load average line:\n%s", out)
	}
	ratioLine := false
	for _, l := range strings.Split(out, "\n") {
		ratioLine = ratioLine || strings.Fields(l) != nil && strings.Join(strings.Fields(l), " ") == "herald/bare x0.80 x2.00"
	}
	if !ratioLine {
		t.Errorf("no herald/bare x0.80 x2.00 line:\n%s", out)
	}
	if strings.Contains(out, "\n\n\n") {
		t.Errorf("two blank lines in a row:\n%s", out)
	}
	for _, want := range []string{
		"first error in register@16 on herald: HTTP 500: boom",
		"register on herald: 100 services registered with the agent, 40 of them (40%) in the catalog when the last slice ended, all 1.50s later",
		"+20.0 kB per watch",
		"herald used 1.00s of CPU, discobench (the watchers) 3.00s",
		"MISS  10000 watchers p99 < 50.0ms",
		"20000 asked, capped by the open-file limit",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := parseScenarios("watch, dns@8,register")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["dns"] != 8 || got["register"] != 16 || got["watch"] != 0 {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"", "dns@0", "dns@x", "watch@5", "kv@1"} {
		if _, err := parseScenarios(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// consulRows are one run's results on Herald and Consul: Herald serves
// health 12 times and registrations 9 times as many as Consul.
func consulRows() []row {
	return []row{
		{Scenario: "dns@32", Target: "herald", Result: bench.Result{OpsPerSec: 30000, P50: time.Millisecond}},
		{Scenario: "dns@32", Target: "bare", Result: bench.Result{OpsPerSec: 25000, P50: time.Millisecond}},
		{Scenario: "dns@32", Target: "consul", Result: bench.Result{OpsPerSec: 6000, P50: 5 * time.Millisecond}},
		{Scenario: "health@32", Target: "herald", Result: bench.Result{OpsPerSec: 12000, P50: 2 * time.Millisecond}},
		{Scenario: "health@32", Target: "consul", Result: bench.Result{OpsPerSec: 1000, P50: 30 * time.Millisecond}},
		{Scenario: "register@16", Target: "herald", Result: bench.Result{OpsPerSec: 900, P50: 10 * time.Millisecond}},
		{Scenario: "register@16", Target: "consul", Result: bench.Result{OpsPerSec: 100, P50: 40 * time.Millisecond}},
	}
}

func TestConsulChecks(t *testing.T) {
	r := &report{Results: consulRows()}
	r.compute()
	if got := statuses(r); got != "PASS,PASS,MISS,n/a" {
		t.Fatalf("statuses %s, want PASS,PASS,MISS,n/a: %+v", got, r.Checks)
	}
	if r.Checks[1].Name != "health@32 herald/consul >= 10" || r.Checks[1].Got != "x12.00 (12000 vs 1000 ops/s)" {
		t.Errorf("health check %+v", r.Checks[1])
	}
	if r.Checks[2].Name != "register@16 herald/consul >= 10" || r.Checks[2].Got != "x9.00 (900 vs 100 ops/s)" {
		t.Errorf("register check %+v", r.Checks[2])
	}
	// The DNS ratio to Consul is reported, not held to a target.
	want := []versus{{"dns@32", 5, 0.2, 0}, {"health@32", 12, 2.0 / 30, 0}, {"register@16", 9, 0.25, 0}}
	if len(r.Versus) != len(want) {
		t.Fatalf("versus %+v, want %+v", r.Versus, want)
	}
	for i, v := range r.Versus {
		if v.Scenario != want[i].Scenario || !near(v.Ops, want[i].Ops) || !near(v.P50, want[i].P50) {
			t.Errorf("versus[%d] %+v, want %+v", i, v, want[i])
		}
	}

	// Exactly 10 passes; an error on either side spoils it.
	r.Results[6].OpsPerSec = 90
	r.compute()
	if got := statuses(r); got != "PASS,PASS,PASS,n/a" {
		t.Fatalf("statuses %s, want PASS,PASS,PASS,n/a", got)
	}
	r.Results[4].Errors = 2
	r.compute()
	if got := statuses(r); got != "PASS,MISS,PASS,n/a" || !strings.Contains(r.Checks[1].Got, "(2 errors)") {
		t.Fatalf("statuses %s (%q), want PASS,MISS,PASS,n/a with the errors", got, r.Checks[1].Got)
	}

	// Consul measured nothing: no ratio to divide by.
	r.Results[4].OpsPerSec, r.Results[4].P50 = 0, 0
	r.compute()
	if got := statuses(r); got != "PASS,n/a,PASS,n/a" {
		t.Fatalf("statuses %s, want PASS,n/a,PASS,n/a", got)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestPrintConsul(t *testing.T) {
	r := &report{CPUs: 2, Duration: "10s", Rounds: 2, ConsulBinary: "/opt/consul", ConsulVersion: "Consul v1.22.7",
		ConsulDNSAnswer: "10 SRV + 11 additional, 700 bytes", Results: consulRows(), ConsulPeakRSS: 120e6,
		Register: []registerReport{
			{Target: "herald", Registered: 9000, InCatalog: 9000, CaughtUp: true},
			{Target: "consul", Registered: 1000, InCatalog: 500},
		},
		ConsulWatch: &watchReport{Target: "consul", Asked: 20000, Path: "/v1/health/service/api", Instances: 30,
			FanoutResult: bench.FanoutResult{Watchers: 20000, InFlight: 20000, Woken: 20000, P99: 3 * time.Second, Settled: true},
			WakeWall:     4 * time.Second, WakeServerCPU: 5 * time.Second, WakeOwnCPU: 2 * time.Second},
	}
	r.compute()
	var b bytes.Buffer
	r.print(&b)
	out := b.String()
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range []string{
		"herald/bare x1.20 x1.00",
		"herald/consul x5.00 x0.20",
		"herald/consul x12.00 x0.07",
		"herald/consul x9.00 x0.25",
		"consul: Consul v1.22.7 (/opt/consul), one server persisting to disk, measured beside Herald, slices alternating",
		"Consul's DNS answer: 10 SRV + 11 additional, 700 bytes",
		"register on herald: 9000 services registered with the agent, all of them in the catalog when the last slice ended",
		"register on consul: 1000 services registered with the agent, 500 of them (50%) in the catalog when the last slice ended, NOT all within 1m0s",
		"consul peak RSS during the run: 120.0 MB",
		"PASS health@32 herald/consul >= 10 x12.00 (12000 vs 1000 ops/s)",
		"MISS register@16 herald/consul >= 10 x9.00 (900 vs 100 ops/s)",
		"watch on consul: 20000 blocking queries on /v1/health/service/api?index=0 (30 instances), then one check passing -> warning",
		"from the change to the last answer (4.00s): consul used 5.00s of CPU, discobench (the watchers) 2.00s, on 2 CPUs",
		// Consul's watchers are held to no target: Herald's is not measured.
		"n/a watchers p99 < 50.0ms not measured",
	} {
		if !lines[want] {
			t.Errorf("output lacks the line %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n\n\n") {
		t.Errorf("two blank lines in a row:\n%s", out)
	}
}

func TestConsulExtra(t *testing.T) {
	o := options{scenarios: map[string]int{"dns": 32}, watchers: 20000}
	if got := consulExtra(o, 65536); len(got) != 0 {
		t.Errorf("without watch: %q, want nothing", got)
	}
	o.scenarios["watch"] = 0
	for _, c := range []struct {
		openFiles uint64
		want      int
	}{
		{65536, 20000 + consulSpareConns},
		{0, 20000 + consulSpareConns}, // limit unknown
		// Capped to the watchers ConnCap lets run, which Consul accepts.
		{20000, 20000 - bench.FDReserve + consulSpareConns},
	} {
		want := fmt.Sprintf("-hcl=limits { http_max_conns_per_client = %d }", c.want)
		if got := consulExtra(o, c.openFiles); len(got) != 1 || got[0] != want {
			t.Errorf("open files %d: %q, want [%s]", c.openFiles, got, want)
		}
	}
}
