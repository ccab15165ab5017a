package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// lockWait bounds every wait for a lock command or its child.
const lockWait = 60 * time.Second

// bgBuffer is a bytes.Buffer that a running command may write while the
// test reads it.
type bgBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *bgBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *bgBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bgRun is a command running in the background, with its own signal
// channel standing in for the process's signals.
type bgRun struct {
	args           []string
	stdout, stderr *bgBuffer
	signals        chan os.Signal
	code           chan int
}

func (r *bgRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.code:
		return code
	case <-time.After(lockWait):
		t.Fatalf("%q still running; stdout %q stderr %q", r.args, r.stdout, r.stderr)
		return -1
	}
}

func bgIO(addr, stdin string, stdout, stderr *bgBuffer) IO {
	return normalizeIO("herald", IO{
		Stdin:  strings.NewReader(stdin),
		Stdout: stdout,
		Stderr: stderr,
		Env: func(k string) string {
			if k == "CONSUL_HTTP_ADDR" {
				return addr
			}
			return ""
		},
	})
}

// startLock runs `lock args...` against the agent at addr.
func startLock(addr, stdin string, args ...string) *bgRun {
	r := &bgRun{args: args, stdout: &bgBuffer{}, stderr: &bgBuffer{},
		signals: make(chan os.Signal, 4), code: make(chan int, 1)}
	cio := bgIO(addr, stdin, r.stdout, r.stderr)
	go func() { r.code <- new(lockCmd).run(args, cio, r.signals) }()
	return r
}

func runLock(t *testing.T, addr, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := startLock(addr, stdin, args...)
	code = r.wait(t)
	return code, r.stdout.String(), r.stderr.String()
}

// waitFile polls path until its content satisfies ok.
func pollFile(t *testing.T, path string, what string, ok func(string) bool) string {
	t.Helper()
	var data []byte
	poll.Eventually(t, lockWait, fmt.Sprintf("%s in %s", what, path), func() (bool, string) {
		data, _ = os.ReadFile(path)
		return ok(string(data)), fmt.Sprintf("it holds %q", data)
	})
	return string(data)
}

func fileLines(s string) []string { return strings.Fields(s) }

func touchFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitForGo is a child's loop that holds on until the test creates the file.
func waitForGo(path string) string {
	return "while [ ! -e '" + path + "' ]; do sleep 0.02; done"
}

func TestLockHoldsLockWhileChildRuns(t *testing.T) {
	addr := agenttest.StartDev(t)
	c := agenttest.Client(t, addr)
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "go")

	r := startLock(addr, "", "locks/basic",
		`echo held=$CONSUL_LOCK_HELD; echo yes > '`+started+`'; `+waitForGo(release))
	pollFile(t, started, "the child to start", func(s string) bool { return s == "yes\n" })

	pair, _, err := c.KV().Get("locks/basic/.lock", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pair == nil || pair.Session == "" {
		t.Fatalf("while the child runs, locks/basic/.lock is %+v, want it held by a session", pair)
	}
	info, _, err := c.Session().Info(pair.Session, nil)
	if err != nil || info == nil || !strings.Contains(info.Name, "locks/basic") {
		t.Errorf("lock session %+v (%v), want one named after the prefix", info, err)
	}

	touchFile(t, release)
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, r.stderr)
	}
	if got := r.stdout.String(); got != "held=true\n" {
		t.Errorf("stdout %q", got)
	}
	// Released and cleaned up.
	pair, _, err = c.KV().Get("locks/basic/.lock", nil)
	if err != nil || (pair != nil && pair.Session != "") {
		t.Errorf("after exit the lock key is %+v (%v)", pair, err)
	}
}

// Two lock commands on one prefix take turns: their children never overlap.
func TestLockMutualExclusion(t *testing.T) {
	addr := agenttest.StartDev(t)
	log := filepath.Join(t.TempDir(), "log")
	child := `echo start >> '` + log + `'; sleep 0.3; echo end >> '` + log + `'`
	a := startLock(addr, "", "-verbose", "locks/mutex", child)
	b := startLock(addr, "", "-verbose", "locks/mutex", child)
	for _, r := range []*bgRun{a, b} {
		if code := r.wait(t); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, r.stderr)
		}
	}
	data, _ := os.ReadFile(log)
	if got := strings.Join(fileLines(string(data)), " "); got != "start end start end" {
		t.Fatalf("children ran as %q, want one after the other", got)
	}
	if !strings.Contains(a.stderr.String(), "Setting up lock at path: locks/mutex/.lock") {
		t.Errorf("-verbose said %q", a.stderr)
	}
}

func TestLockTimeout(t *testing.T) {
	addr := agenttest.StartDev(t)
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "go")
	holder := startLock(addr, "", "locks/timeout", "touch '"+started+"'; "+waitForGo(release))
	pollFile(t, started, "the holder's child", func(string) bool { _, err := os.Stat(started); return err == nil })

	for _, flag := range []string{"-timeout=300ms", "-try=300ms"} {
		code, stdout, stderr := runLock(t, addr, "", flag, "locks/timeout", "echo should not run")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "Lock not acquired within 300ms") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", flag, code, stdout, stderr)
		}
	}
	touchFile(t, release)
	if code := holder.wait(t); code != 0 {
		t.Fatalf("holder exit %d: %q", code, holder.stderr)
	}
	if code, stdout, _ := runLock(t, addr, "", "-timeout=10s", "locks/timeout", "echo ran"); code != 0 || stdout != "ran\n" {
		t.Errorf("after release: exit %d, stdout %q", code, stdout)
	}
}

// With -n 2 two holders run at once, and a third must wait.
func TestLockSemaphore(t *testing.T) {
	addr := agenttest.StartDev(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "go")
	child := "echo start >> '" + log + "'; " + waitForGo(release)
	a := startLock(addr, "", "-n=2", "locks/sem", child)
	b := startLock(addr, "", "-n=2", "locks/sem", child)
	// Both children start while neither can have ended: they hold the
	// semaphore together.
	pollFile(t, log, "two children running at once", func(s string) bool { return len(fileLines(s)) == 2 })

	code, stdout, stderr := runLock(t, addr, "", "-n=2", "-timeout=300ms", "locks/sem", "echo third")
	if code != 1 || stdout != "" {
		t.Errorf("third holder: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A plain lock on a semaphore's prefix is refused, not granted.
	if code, stdout, stderr := runLock(t, addr, "", "-timeout=300ms", "locks/sem", "echo lock"); code != 1 || stdout != "" {
		t.Errorf("lock on a semaphore prefix: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	touchFile(t, release)
	for _, r := range []*bgRun{a, b} {
		if code := r.wait(t); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, r.stderr)
		}
	}
	if code, stdout, _ := runLock(t, addr, "", "-n=2", "-timeout=10s", "locks/sem", "echo free"); code != 0 || stdout != "free\n" {
		t.Errorf("after release: exit %d, stdout %q", code, stdout)
	}
}

func TestLockChildExitCode(t *testing.T) {
	addr := agenttest.StartDev(t)
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"-child-exit-code", "locks/code", "exit 3"}, 3},
		{[]string{"locks/code", "exit 3"}, 0},
		{[]string{"-child-exit-code", "locks/code", "true"}, 0},
		{[]string{"-child-exit-code", "locks/code", "kill -TERM $$"}, 128 + int(syscall.SIGTERM)},
		{[]string{"-child-exit-code", "-shell=false", "locks/code", "/nonexistent/program"}, 1},
	} {
		if code, _, stderr := runLock(t, addr, "", tt.args...); code != tt.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tt.args, code, tt.want, stderr)
		}
	}
}

func TestLockShellAndStdin(t *testing.T) {
	addr := agenttest.StartDev(t)
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		// Through the shell the arguments are joined and split again.
		{"", []string{"locks/sh", "echo", "a   b"}, "a b\n"},
		{"", []string{"-shell=false", "locks/sh", "echo", "a   b"}, "a   b\n"},
		{"", []string{"-shell=false", "locks/sh", "sh", "-c", "echo $CONSUL_LOCK_HELD"}, "true\n"},
		{"piped\n", []string{"-pass-stdin", "locks/sh", "cat"}, "piped\n"},
		{"piped\n", []string{"locks/sh", "cat"}, ""},
	} {
		code, stdout, stderr := runLock(t, addr, tt.stdin, tt.args...)
		if code != 0 || stdout != tt.want {
			t.Errorf("%q: exit %d, stdout %q, want %q (stderr %q)", tt.args, code, stdout, tt.want, stderr)
		}
	}
}

// When the lock's session is destroyed under it, the child is stopped and
// lock exits with 1.
func TestLockLostStopsChild(t *testing.T) {
	addr := agenttest.StartDev(t)
	c := agenttest.Client(t, addr)
	dir := t.TempDir()
	started, trapped := filepath.Join(dir, "started"), filepath.Join(dir, "trapped")
	r := startLock(addr, "", "locks/lost",
		`trap 'echo term > '"'`+trapped+`'"'; exit 0' TERM; touch '`+started+`'; while :; do sleep 0.02; done`)
	pollFile(t, started, "the child to start", func(string) bool { _, err := os.Stat(started); return err == nil })

	pair, _, err := c.KV().Get("locks/lost/.lock", nil)
	if err != nil || pair == nil || pair.Session == "" {
		t.Fatalf("lock key %+v (%v)", pair, err)
	}
	if _, err := c.Session().Destroy(pair.Session, nil); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t); code != 1 {
		t.Fatalf("exit %d, want 1 (stderr %q)", code, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "Lock lost") {
		t.Errorf("stderr %q", r.stderr)
	}
	pollFile(t, trapped, "the child's SIGTERM trap", func(s string) bool { return s == "term\n" })
}

// Signals sent to lock reach the child.
func TestLockForwardsSignals(t *testing.T) {
	addr := agenttest.StartDev(t)
	dir := t.TempDir()
	ready, got := filepath.Join(dir, "ready"), filepath.Join(dir, "got")
	r := startLock(addr, "", "-child-exit-code", "locks/sig",
		`trap 'echo usr1 >> `+got+`' USR1; trap 'echo term >> `+got+`; exit 7' TERM; touch `+ready+`; while :; do sleep 0.02; done`)
	pollFile(t, ready, "the child to start", func(string) bool { _, err := os.Stat(ready); return err == nil })

	r.signals <- syscall.SIGUSR1
	pollFile(t, got, "SIGUSR1 to reach the child", func(s string) bool { return s == "usr1\n" })
	r.signals <- syscall.SIGTERM
	if code := r.wait(t); code != 7 {
		t.Fatalf("exit %d, want the child's 7 (stderr %q)", code, r.stderr)
	}
	if data, _ := os.ReadFile(got); string(data) != "usr1\nterm\n" {
		t.Errorf("child saw %q", data)
	}
}

// SIGINT while waiting for the lock gives up the wait.
func TestLockInterruptedWhileWaiting(t *testing.T) {
	addr := agenttest.StartDev(t)
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "go")
	holder := startLock(addr, "", "locks/intr", "touch '"+started+"'; "+waitForGo(release))
	pollFile(t, started, "the holder's child", func(string) bool { _, err := os.Stat(started); return err == nil })

	waiter := startLock(addr, "", "-verbose", "locks/intr", "echo should not run")
	poll.Eventually(t, lockWait, "the waiter starts waiting", func() (bool, string) {
		out := waiter.stderr.String()
		return strings.Contains(out, "Attempting lock acquisition"), fmt.Sprintf("%q", out)
	})
	waiter.signals <- os.Interrupt
	if code := waiter.wait(t); code != 1 || waiter.stdout.String() != "" ||
		!strings.Contains(waiter.stderr.String(), "Interrupted") {
		t.Errorf("waiter: exit %d, stdout %q, stderr %q", code, waiter.stdout, waiter.stderr)
	}
	touchFile(t, release)
	if code := holder.wait(t); code != 0 {
		t.Fatalf("holder exit %d: %q", code, holder.stderr)
	}
}

func TestLockUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"lock"}, "Error! Expected a PREFIX and a command to run, got 0 argument(s)"},
		{[]string{"lock", "prefix"}, "Error! Expected a PREFIX and a command to run, got 1 argument(s)"},
		{[]string{"lock", "-n=0", "p", "true"}, "Error! -n must be at least 1, got 0"},
		{[]string{"lock", "/", "true"}, "Error! The lock PREFIX must not be empty"},
		{[]string{"lock", "-bogus", "p", "true"}, "flag provided but not defined: -bogus"},
	} {
		r := runCLI(t, tt.args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q, want prefix %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	if r := runCLI(t, "lock", "-h"); r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: herald lock [options] PREFIX CHILD...") {
		t.Errorf("lock -h: %+v", r)
	}
}
