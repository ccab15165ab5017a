package bench

import (
	"strings"
	"testing"
	"time"
)

func TestForeignShare(t *testing.T) {
	a := CPUSnapshot{Total: 1000, Busy: 300, Own: 100}
	b := CPUSnapshot{Total: 2000, Busy: 1100, Own: 600}
	// 1000 ticks passed, 800 busy, 500 of them ours: 30% foreign.
	if got := ForeignShare(a, b); got < 0.2999 || got > 0.3001 {
		t.Errorf("ForeignShare = %v, want 0.3", got)
	}
	// Our counters can exceed the machine's busy time (sampling skew);
	// that is no foreign load, not a negative one.
	if got := ForeignShare(a, CPUSnapshot{Total: 2000, Busy: 400, Own: 900}); got != 0 {
		t.Errorf("ForeignShare with own > busy = %v, want 0", got)
	}
	if n := NoiseNote(0.5, "ratios"); !strings.Contains(n, "busy") || !strings.Contains(n, "(ratios less so)") || !strings.Contains(n, "50%") {
		t.Errorf("NoiseNote(0.5) = %q", n)
	}
	if n := NoiseNote(0.5, ""); strings.Contains(n, "less so") {
		t.Errorf("NoiseNote without robust figures = %q", n)
	}
	if n := NoiseNote(0.01, "ratios"); strings.Contains(n, "busy") {
		t.Errorf("NoiseNote(0.01) warns: %q", n)
	}
}

func TestParseProcCounters(t *testing.T) {
	// user nice system idle iowait irq softirq steal: busy is user, nice
	// and system only.
	c, ok := parseStatCPU([]byte("cpu  100 2 30 1000 50 7 9 3 0 0\ncpu0 1 2 3 4 5 6 7 8\n"))
	if !ok || c.Total != 1201 || c.Busy != 132 {
		t.Errorf("parseStatCPU = %+v %v, want total 1201 busy 132", c, ok)
	}
	if _, ok := parseStatCPU([]byte("intr 1 2 3\n")); ok {
		t.Error("a /proc/stat without the cpu line accepted")
	}
	// A command name with spaces and parentheses.
	stat := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 500 0 0 0 17 5 0 0 20 0 1 0 100 0 0\n"
	if got := statTicks([]byte(stat)); got != 22 {
		t.Errorf("statTicks = %d, want 17+5", got)
	}
	if got := statTicks([]byte("garbage")); got != 0 {
		t.Errorf("statTicks(garbage) = %d", got)
	}

	// Spin until this process has used a clock tick, so that a parsing
	// error reading 0 cannot pass.
	for end := time.Now().Add(2 * time.Second); ProcTicks("self") == 0 && time.Now().Before(end); {
	}
	s, ok := SnapshotCPU()
	if ok && (s.Total == 0 || s.Own == 0 || s.Busy > s.Total) {
		t.Errorf("snapshot of this machine looks wrong: %+v", s)
	}
}

func TestParseLoadAverage(t *testing.T) {
	if got := parseLoadAverage("0.95 1.50 2.42 3/812 4711\n"); got != "0.95 1.50 2.42" {
		t.Errorf("got %q", got)
	}
	if got := parseLoadAverage("0.95\n"); got != "" {
		t.Errorf("short line gave %q", got)
	}
	if got := LoadNote("1.00 0.50 0.25", "2.00 1.00 0.50"); got != "load average (1, 5, 15 min): 1.00 0.50 0.25 at the start, 2.00 1.00 0.50 at the end" {
		t.Errorf("LoadNote = %q", got)
	}
	if got := LoadNote("", "2.00 1.00 0.50"); got != "" {
		t.Errorf("LoadNote without a start = %q", got)
	}
}
