package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CPUSnapshot is the machine's CPU time and the part of it used by the
// bench command and the servers it started, in clock ticks (USER_HZ, 100
// a second on Linux), read from /proc. Two snapshots give ForeignShare:
// how busy other people's work kept the machine meanwhile.
type CPUSnapshot struct {
	Total, Busy, Own uint64
}

// SnapshotCPU reads the counters, counting this process and pids as own;
// ok is false where /proc is not Linux's. Add the ticks of helpers already
// stopped to Own yourself.
func SnapshotCPU(pids ...int) (c CPUSnapshot, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c, false
	}
	if c, ok = parseStatCPU(b); !ok {
		return c, false
	}
	c.Own = ProcTicks("self")
	for _, pid := range pids {
		c.Own += ProcTicks(strconv.Itoa(pid))
	}
	return c, true
}

// parseStatCPU reads the machine-wide "cpu" line of /proc/stat into Total
// and Busy.
func parseStatCPU(b []byte) (c CPUSnapshot, ok bool) {
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
		c.Total += n
		// Idle, iowait and steal are not work done here; irq and softirq
		// are mostly our own loopback traffic, which no process is charged
		// for, so they must not count as someone else's.
		if i != 3 && i != 4 && i != 5 && i != 6 && i != 7 {
			c.Busy += n
		}
	}
	return c, true
}

// ProcTicks is the user plus system time of a process ("self" or a pid),
// or 0 if it is gone.
func ProcTicks(pid string) uint64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	return statTicks(b)
}

// statTicks reads utime+stime from the text of a /proc/<pid>/stat.
func statTicks(b []byte) uint64 {
	// The command name is in parentheses and may hold spaces; the fields
	// after it start with the state (field 3), so utime (14) and stime
	// (15) are the 12th and 13th.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return u + st
}

// ForeignShare is the share of the machine's CPU time between two
// snapshots that went to processes other than the bench command and its
// servers: other people's builds and tests, which distort the figures.
func ForeignShare(a, b CPUSnapshot) float64 {
	total := float64(b.Total - a.Total)
	foreign := (float64(b.Busy) - float64(a.Busy)) - (float64(b.Own) - float64(a.Own))
	if total <= 0 || foreign < 0 {
		return 0
	}
	return foreign / total
}

// NoisyShare is the foreign share above which NoiseNote warns.
const NoisyShare = 0.10

// NoiseNote says how busy the machine was with other work, with a warning
// when that was enough to distort the figures. robust, if not empty, names
// the figures that suffer less ("ratios").
func NoiseNote(share float64, robust string) string {
	s := fmt.Sprintf("other processes used %.0f%% of the machine's CPU during the scenarios", share*100)
	if share > NoisyShare {
		s += ": the machine was busy, figures are unreliable"
		if robust != "" {
			s += " (" + robust + " less so)"
		}
		s += "; rerun when it is idle"
	}
	return s
}

// LoadAverage is the machine's load average over 1, 5 and 15 minutes, as
// /proc/loadavg gives it ("0.95 1.50 2.42"), or "" where it cannot be
// read. The bench commands print it beside their ratios: on a shared
// machine it says how many runnable processes competed for the CPUs.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return parseLoadAverage(string(b))
}

// LoadNote is the line the bench commands print beside their ratios:
// the load averages read before the servers started and after the last
// scenario, or "" when they could not be read.
func LoadNote(start, end string) string {
	if start == "" || end == "" {
		return ""
	}
	return fmt.Sprintf("load average (1, 5, 15 min): %s at the start, %s at the end", start, end)
}

// parseLoadAverage keeps the first three fields of a /proc/loadavg text.
func parseLoadAverage(s string) string {
	f := strings.Fields(s)
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
