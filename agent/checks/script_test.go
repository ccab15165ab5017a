//go:build unix

package checks

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
)

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func TestScriptsRefusedUnlessEnabled(t *testing.T) {
	d := Definition{CheckID: "s", Args: sh("exit 0"), Interval: time.Second}
	r, _ := newTestRunner(t, Config{})
	err := r.Add(d)
	if !errors.Is(err, ErrScriptsDisabled) || !strings.Contains(err.Error(), "enable_script_checks") {
		t.Errorf("scripts disabled: Add = %v", err)
	}
	if _, _, ok := r.Status("s"); ok {
		t.Error("a refused script check runs")
	}

	// Local script checks only: from config files yes, from the API no.
	local, _ := newTestRunner(t, Config{EnableLocalScriptChecks: true})
	if err := local.Add(d); !errors.Is(err, ErrScriptsDisabled) {
		t.Errorf("API script with local checks only: Add = %v", err)
	}
	d.Local = true
	if err := local.Add(d); err != nil {
		t.Errorf("local script with local checks enabled: %v", err)
	}

	all, _ := newTestRunner(t, Config{EnableScriptChecks: true})
	d.Local = false
	if err := all.Add(d); err != nil {
		t.Errorf("script checks enabled: %v", err)
	}
}

func TestScriptExitCodes(t *testing.T) {
	r, _ := newTestRunner(t, Config{EnableScriptChecks: true})
	for _, tc := range []struct {
		id, script, status, output string
	}{
		{"zero", "echo fine; exit 0", "passing", "fine\n"},
		{"one", "echo slow >&2; exit 1", "warning", "slow\n"},
		{"two", "echo broken; exit 2", "critical", "broken\n"},
		{"both", "echo out; echo err >&2; exit 0", "passing", "out\nerr\n"},
	} {
		if err := r.Add(Definition{CheckID: tc.id, Args: sh(tc.script), Interval: time.Second, Status: "passing"}); err != nil {
			t.Fatal(err)
		}
		poll.True(t, slack, tc.id+"'s first run", func() bool { _, out, _ := r.Status(tc.id); return out != "" })
		if s, out, _ := r.Status(tc.id); s != tc.status || out != tc.output {
			t.Errorf("%s: %s %q, want %s %q", tc.id, s, out, tc.status, tc.output)
		}
	}
}

// TestScriptNoShell: Args run as they are; nothing expands $HOME.
func TestScriptNoShell(t *testing.T) {
	r, _ := newTestRunner(t, Config{EnableScriptChecks: true})
	if err := r.Add(Definition{CheckID: "echo", Args: []string{"/bin/echo", "$HOME", "a;b"}, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "echo", "passing", slack); out != "$HOME a;b\n" {
		t.Errorf("output %q", out)
	}
	if err := r.Add(Definition{CheckID: "missing", Args: []string{"/nonexistent/check"}, Interval: time.Second, Status: "passing"}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "missing", "critical", slack); !strings.Contains(out, "no such file") {
		t.Errorf("missing program output %q", out)
	}
}

// TestScriptTimeoutKillsGroup: a script that outlives its timeout is
// critical at the timeout, and its children die with it.
func TestScriptTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	r, _ := newTestRunner(t, Config{EnableScriptChecks: true})
	start := time.Now()
	err := r.Add(Definition{CheckID: "hang", Interval: time.Hour, Timeout: 200 * time.Millisecond, Status: "passing",
		Args: sh("sleep 60 & echo $! > " + pidFile + "; echo started; wait")})
	if err != nil {
		t.Fatal(err)
	}
	out := waitStatus(t, r, "hang", "critical", 200*time.Millisecond+slack)
	if e := time.Since(start); e < 200*time.Millisecond {
		t.Errorf("critical after %v, before the timeout", e)
	}
	if want := "Timed out (200ms) running check\n\nstarted\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	poll.True(t, slack, "the script's child to die", func() bool { return !alive(pid) })
}

// alive reports whether pid runs (a zombie waiting for its new parent to
// reap it does not count: it has been killed).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) == 0 || fields[0] != "Z"
}

func TestScriptOutputCapped(t *testing.T) {
	r, _ := newTestRunner(t, Config{EnableScriptChecks: true})
	// 10000 bytes: 9990 x's, then "0123456789".
	script := `i=0; while [ $i -lt 999 ]; do printf xxxxxxxxxx; i=$((i+1)); done; printf 0123456789`
	if err := r.Add(Definition{CheckID: "big", Args: sh(script), Interval: time.Hour, OutputMaxSize: 100}); err != nil {
		t.Fatal(err)
	}
	out := waitStatus(t, r, "big", "passing", 5*time.Second)
	if want := "Captured 100 of 10000 bytes\n...\n" + strings.Repeat("x", 90) + "0123456789"; out != want {
		t.Errorf("output %q, want the last 100 bytes: %q", out, want)
	}
}
