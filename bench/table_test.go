package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChecksAndRows(t *testing.T) {
	checks := []Check{
		NewCheck("a", "1", true, true),
		NewCheck("b", "2", false, false),
		NewCheck("c", "3", true, false),
	}
	if got := checks[0].Status + checks[1].Status + checks[2].Status; got != "PASSn/an/a" {
		t.Errorf("statuses %s", got)
	}
	if Missed(checks) {
		t.Error("missed without a MISS")
	}
	checks = append(checks, NewCheck("d", "4", false, true))
	if checks[3].Status != "MISS" || !Missed(checks) {
		t.Errorf("a measured failure: %+v, missed %v", checks[3], Missed(checks))
	}

	rows := []Row{
		{Scenario: "x@1", Target: "herald", Result: Result{OpsPerSec: 10, P50: time.Millisecond}},
		{Scenario: "x@1", Target: "other", Result: Result{OpsPerSec: 20}},
		{Scenario: "y@2", Target: "herald", Result: Result{OpsPerSec: 30, Errors: 2, FirstError: "boom"}},
	}
	if r, ok := FindRow(rows, "x@1", "other"); !ok || r.OpsPerSec != 20 {
		t.Errorf("FindRow x@1 other: %v %v", r, ok)
	}
	if _, ok := FindRow(rows, "y@2", "other"); ok {
		t.Error("FindRow found a row that is not there")
	}

	// The trailer comes once after each scenario's last row.
	var b bytes.Buffer
	PrintResults(&b, rows, func(s string) string {
		if s == "x@1" {
			return "\tratio\tx0.50\t\t\t\t\t\t"
		}
		return ""
	})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want header, 3 rows, a trailer and an error:\n%s", len(lines), b.String())
	}
	if f := strings.Fields(lines[3]); len(f) != 2 || f[0] != "ratio" || f[1] != "x0.50" {
		t.Errorf("line 4 is %q, want the trailer after x@1's rows", lines[3])
	}
	if !strings.Contains(lines[2], "other") || !strings.Contains(lines[4], "y@2") {
		t.Errorf("rows out of order:\n%s", b.String())
	}
	if lines[5] != "first error in y@2 on herald: boom" {
		t.Errorf("error line %q", lines[5])
	}
	// Right-aligned columns: every line of the table is as wide.
	if len(lines[0]) != len(lines[1]) || len(lines[1]) != len(lines[4]) {
		t.Errorf("ragged table:\n%s", b.String())
	}

	b.Reset()
	PrintChecks(&b, checks)
	if !strings.Contains(b.String(), "  MISS  d  4\n") {
		t.Errorf("checks:\n%q", b.String())
	}

	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSON(path, rows[:1]); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(path)
	// The result's fields sit beside the scenario's, as the commands
	// have always written them.
	if !strings.Contains(string(out), `"scenario": "x@1"`) || !strings.Contains(string(out), `"p50_ns": 1000000`) {
		t.Errorf("JSON:\n%s", out)
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "-",
		-time.Second:             "-",
		999 * time.Microsecond:   "999µs",
		1500 * time.Microsecond:  "1.50ms",
		12345 * time.Microsecond: "12.3ms",
		2500 * time.Millisecond:  "2.50s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := FormatMB(123_456_789); got != "123.5 MB" {
		t.Errorf("FormatMB = %q", got)
	}
}
