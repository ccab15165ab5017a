package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuSnapshot is the machine's CPU time and the share of it used by
// discobench and its server, in clock ticks, read from /proc. (As kvbench
// measures it.)
type cpuSnapshot struct {
	total, busy, own uint64
}

// retiredTicks is the CPU time of helper processes discobench started and
// has already stopped (the bare DNS server of -bare=process): their time
// counts as discobench's own, not as other people's work.
var retiredTicks uint64

// snapshotCPU reads the counters; ok is false where /proc is not Linux's.
func snapshotCPU(s *server) (c cpuSnapshot, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return c, false
	}
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c, false
		}
		c.total += n
		// Idle, iowait and steal are not work done here; irq and softirq
		// are mostly our own loopback traffic, which no process is charged
		// for, so they must not count as someone else's.
		if i != 3 && i != 4 && i != 5 && i != 6 && i != 7 {
			c.busy += n
		}
	}
	c.own = procTicks("self") + retiredTicks
	if s != nil {
		c.own += procTicks(strconv.Itoa(s.cmd.Process.Pid))
	}
	return c, true
}

// procTicks is the user plus system time of a process, or 0 if it is gone.
func procTicks(pid string) uint64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name is in parentheses and may hold spaces; utime (field
	// 14) and stime (15) are the 12th and 13th after it.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return u + st
}

// foreignShare is the share of the machine's CPU time between two
// snapshots that went to processes other than discobench and the
// processes it started.
func foreignShare(a, b cpuSnapshot) float64 {
	total := float64(b.total - a.total)
	foreign := (float64(b.busy) - float64(a.busy)) - (float64(b.own) - float64(a.own))
	if total <= 0 || foreign < 0 {
		return 0
	}
	return foreign / total
}

// noiseNote says how busy the machine was with other work, with a warning
// when that was enough to distort the figures.
func noiseNote(share float64) string {
	s := fmt.Sprintf("other processes used %.0f%% of the machine's CPU during the scenarios", share*100)
	if share > 0.10 {
		s += ": the machine was busy, figures are unreliable (the DNS ratio less so); rerun when it is idle"
	}
	return s
}
