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

func sampleReport() *report {
	return &report{CPUs: 2, Duration: "10s", Datacenter: "dc1",
		Results: []bench.Row{
			{Scenario: "lock@16", Target: "herald", Result: bench.Result{Ops: 3000, OpsPerSec: 300, P50: 30 * time.Millisecond}},
			{Scenario: "session@16", Target: "herald", Result: bench.Result{Ops: 30000, OpsPerSec: 3000, Errors: 1, FirstError: "HTTP 500: boom"}},
		},
		Lock: &lockReport{Scenario: "lock@16", Key: "bench/lock", Contenders: 16, Verify: true,
			Attempts: 42000, Refused: 39000, Waits: 30000, Verified: 3000, MinCycles: 150, MaxCycles: 250},
		HTTPWatch: &fanoutReport{Kind: "http", Unit: "watches", Asked: 10000, What: "blocking queries",
			RSSBefore: 100e6, RSSDuring: 250e6, WakeWall: time.Second, WakeHeraldCPU: 300 * time.Millisecond, WakeOwnCPU: 200 * time.Millisecond,
			FanoutResult: bench.FanoutResult{Watchers: 10000, InFlight: 10000, Woken: 10000, P99: 300 * time.Millisecond, Settled: true}},
		NATSWatch: &fanoutReport{Kind: "nats", Unit: "subscriptions", Asked: 10000, Conns: 100, What: "core subscriptions",
			RSSBefore: 100e6, RSSDuring: 105e6,
			FanoutResult: bench.FanoutResult{Watchers: 10000, InFlight: 10000, Woken: 10000, P99: 30 * time.Millisecond, Settled: true}},
	}
}

func TestChecks(t *testing.T) {
	r := sampleReport()
	r.compute()
	if got := statuses(r); got != "PASS,PASS,PASS" {
		t.Fatalf("statuses %s: %+v", got, r.Checks)
	}
	// Two holders at once, seen either way, fail the lock check; one
	// subscriber not reached fails its check.
	r.Lock.Overlaps = 1
	r.NATSWatch.Woken, r.NATSWatch.Errors = 9999, 1
	r.compute()
	if got := statuses(r); got != "MISS,PASS,MISS" || !bench.Missed(r.Checks) {
		t.Fatalf("statuses %s: %+v", got, r.Checks)
	}
	if !strings.Contains(r.Checks[2].Got, "9999 of 10000 (0 early, 1 errors)") {
		t.Errorf("NATS check says %q", r.Checks[2].Got)
	}
	r.Lock.Overlaps, r.Lock.Mismatches = 0, 2
	r.compute()
	if r.Checks[0].Status != "MISS" || !strings.Contains(r.Checks[0].Got, "2 of 3000 reads after acquiring named another session") {
		t.Errorf("lock check with mismatches: %+v", r.Checks[0])
	}
	// Capped watchers are named.
	r.HTTPWatch.Watchers, r.HTTPWatch.Woken = 9000, 9000
	r.compute()
	if r.Checks[1].Status != "PASS" || !strings.Contains(r.Checks[1].Got, "10000 asked, capped") {
		t.Errorf("capped watch check: %+v", r.Checks[1])
	}
	// Nothing measured.
	r = &report{}
	r.compute()
	if got := statuses(r); got != "n/a,n/a,n/a" || bench.Missed(r.Checks) {
		t.Fatalf("statuses %s, want n/a", got)
	}
}

func TestPrint(t *testing.T) {
	r := sampleReport()
	r.compute()
	var b bytes.Buffer
	r.print(&b)
	out := b.String()
	if strings.Contains(out, "\n\n\n") {
		t.Errorf("two blank lines in a row:\n%s", out)
	}
	for _, want := range []string{
		"first error in session@16 on herald: HTTP 500: boom",
		"per cycle 14.0 acquisitions asked (13.0 refused) and 10.0 blocking reads",
		"cycles per contender 150 to 250",
		"watch over HTTP: 10000 blocking queries",
		"(+15.0 kB per watch)",
		"(+0.5 kB per subscription)",
		"herald used 300.0ms of CPU, coordbench 200.0ms",
		"PASS  every NATS subscriber reached",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "watch over HTTP") > strings.Index(out, "watch over NATS") {
		t.Error("the HTTP fan-out is not printed first")
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := parseScenarios("nats, lock@4,session")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["lock"] != 4 || got["session"] != 16 || got["nats"] != 0 {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"", "lock@0", "lock@x", "watch@5", "nats@2", "dns"} {
		if _, err := parseScenarios(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
