package main

import (
	"bytes"
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
	r.compute("dns@32")
	if got := statuses(r); got != "PASS,PASS" {
		t.Fatalf("statuses %s, want PASS,PASS: %+v", got, r.Checks)
	}
	if r.DNSRatio != 0.8 || r.DNSP50Ratio != 2 {
		t.Errorf("ratios %v %v", r.DNSRatio, r.DNSP50Ratio)
	}

	// Just under the ratio; one watcher not woken; errors spoil a pass.
	r.Results[0].OpsPerSec = 7999
	r.Watch.Woken = 19999
	r.compute("dns@32")
	if got := statuses(r); got != "MISS,MISS" || !r.missed() {
		t.Fatalf("statuses %s, want MISS,MISS", got)
	}
	r.Results[0].OpsPerSec, r.Results[0].Errors = 9000, 4
	r.Watch.Woken, r.Watch.P99 = 20000, 50*time.Millisecond
	r.compute("dns@32")
	if got := statuses(r); got != "MISS,MISS" || !strings.Contains(r.Checks[0].Got, "4 errors") {
		t.Fatalf("statuses %s (%q), want MISS,MISS with the errors", got, r.Checks[0].Got)
	}

	// Nothing measured.
	r = &report{}
	r.compute("")
	if got := statuses(r); got != "n/a,n/a" || r.missed() {
		t.Fatalf("statuses %s, want n/a,n/a", got)
	}
}

func TestPrint(t *testing.T) {
	r := &report{CPUs: 2, Duration: "5s", Rounds: 2, DNSAnswer: "10 SRV + 11 additional",
		Results: []row{
			{Scenario: "dns@32", Target: "herald", Result: bench.Result{OpsPerSec: 8000, P50: 2 * time.Millisecond}},
			{Scenario: "dns@32", Target: "bare", Result: bench.Result{OpsPerSec: 10000, P50: time.Millisecond}},
			{Scenario: "register@16", Target: "herald", Result: bench.Result{OpsPerSec: 700, FirstError: "HTTP 500: boom", Errors: 1}},
		},
		Register: &registerReport{Registered: 100, InCatalog: 40},
		Watch: &watchReport{Asked: 20000, Path: "/v1/health/service/api", Instances: 30, RSSBefore: 50e6, RSSDuring: 250e6,
			FanoutResult: bench.FanoutResult{Watchers: 10000, InFlight: 10000, Woken: 10000, P99: time.Second, Settled: true},
			WakeWall:     2 * time.Second, WakeHeraldCPU: time.Second, WakeOwnCPU: 3 * time.Second},
	}
	r.compute("dns@32")
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
		"100 services registered with the agent, 40 of them (40%) in the catalog",
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
