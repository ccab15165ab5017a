package statemachine

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the GC headroom setting (SetGCPercent is its only reader).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// Two shards reloading at once lower the headroom once and put the
// process's own setting back only when the last one is done; a smaller
// setting, or none, is left alone.
func TestLowGCHeadroom(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(80))
	a := LowGCHeadroom()
	b := LowGCHeadroom()
	if p := gcPercent(); p != restoreGCPercent {
		t.Fatalf("during two reloads GOGC is %d, want %d", p, restoreGCPercent)
	}
	a()
	a() // a second release changes nothing
	if p := gcPercent(); p != restoreGCPercent {
		t.Fatalf("with one reload left GOGC is %d, want %d", p, restoreGCPercent)
	}
	b()
	if p := gcPercent(); p != 80 {
		t.Fatalf("after the reloads GOGC is %d, want the process's 80", p)
	}
	for _, own := range []int{10, -1} {
		debug.SetGCPercent(own)
		release := LowGCHeadroom()
		if p := gcPercent(); p != own {
			t.Fatalf("process at GOGC %d: during a reload %d", own, p)
		}
		release()
		if p := gcPercent(); p != own {
			t.Fatalf("process at GOGC %d: after a reload %d", own, p)
		}
	}
}
