package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file is the command-line side shared by the bench commands: how
// they speak on stderr, their exit statuses, and the flags they read alike.

// Tool is a bench command's voice on stderr: every line it writes there
// starts with its name, so that its own messages stand apart from the
// server logs it may show.
type Tool struct {
	Name string
	// Stamp adds the time of day after the name, for a command whose runs
	// are long and whose messages are read against the servers' logs.
	Stamp bool
}

// Logf writes one line on stderr.
func (t Tool) Logf(format string, args ...any) {
	if t.Stamp {
		args = append([]any{time.Now().Format("15:04:05.000")}, args...)
		format = "%s " + format
	}
	fmt.Fprintf(os.Stderr, "%s: "+format+"\n", append([]any{t.Name}, args...)...)
}

// Fail writes err on stderr, without a time stamp since it may carry the
// end of a server's log, and returns code as the exit status.
func (t Tool) Fail(code int, err error) int {
	fmt.Fprintln(os.Stderr, t.Name+":", err)
	return code
}

// Abort is Fail for errors met once the run has started: when ctx was
// cancelled by a signal, the error is most likely that, and the status is
// the one for Ctrl+C (see ExitCode).
func (t Tool) Abort(ctx context.Context, err error) int {
	return t.ExitCode(ctx, t.Fail(1, err))
}

// ExitCode returns 130 (the shell's code for Ctrl+C) if ctx was cancelled
// by a signal, saying so, else code.
func (t Tool) ExitCode(ctx context.Context, code int) int {
	if ctx.Err() != nil {
		t.Logf("interrupted")
		return 130
	}
	return code
}

// Begin starts a run: ctx is cancelled by Ctrl+C or SIGTERM (see
// Interruptible), so that the run's deferred calls stop its processes and
// remove their data, and dir is the run's temporary directory in tmp (see
// WorkDir). end, deferred, removes or keeps dir and stops listening for
// signals.
func (t Tool) Begin(tmp string, keep bool) (ctx context.Context, dir string, end func(), err error) {
	ctx, stopSignals := Interruptible()
	dir, removeDir, err := WorkDir(t.Name, tmp, keep)
	if err != nil {
		stopSignals()
		return nil, "", nil, err
	}
	return ctx, dir, func() { removeDir(); stopSignals() }, nil
}

// RaiseOpenFiles is the package's RaiseOpenFiles, saying on stderr why the
// limit is not want where it is not. Call it before starting servers, so
// that they inherit the limit.
func (t Tool) RaiseOpenFiles(want uint64) (limit uint64, note string) {
	limit, note = RaiseOpenFiles(want)
	if note != "" {
		t.Logf("%s", note)
	}
	return limit, note
}

// ParseScenarioClients reads a comma-separated list of scenarios, each
// name or name@clients ("lock@8,session,watch"), into name -> clients.
// Every name must be one of known. A name without @ gets defaults[name];
// a name without a default takes no @clients, its size being set by a flag
// of its own, which hint names ("watch takes -watchers instead").
func ParseScenarioClients(list string, known []string, defaults map[string]int, hint string) (map[string]int, error) {
	out := map[string]int{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, n, hasN := strings.Cut(f, "@")
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("scenario %q: want one of %s", f, strings.Join(known, ", "))
		}
		c := defaults[name]
		if hasN {
			var err error
			if c, err = strconv.Atoi(n); err != nil || c < 1 || defaults[name] == 0 {
				return nil, fmt.Errorf("scenario %q: want %s@<clients> (%s)", f, name, hint)
			}
		}
		out[name] = c
	}
	if len(out) == 0 {
		return nil, errors.New("no scenarios")
	}
	return out, nil
}

// BinaryVersion returns the first line bin prints for --version, or "".
func BinaryVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// RunMeasured runs w for warmup, unmeasured (if warmup > 0), then for
// duration, and returns both results. A run cut short by ctx returns
// ctx's error: its figures would understate the target.
func RunMeasured(ctx context.Context, w Workload, warmup, duration time.Duration) (warm, res Result, err error) {
	if warmup > 0 {
		w.Duration = warmup
		if warm, err = RunWorkload(ctx, w); err != nil {
			return warm, Result{}, err
		}
	}
	w.Duration = duration
	if res, err = RunWorkload(ctx, w); err != nil {
		return warm, res, err
	}
	return warm, res, ctx.Err()
}

// Progress is res in the form the commands log after every measured
// slice: rate (in unit per second), p50, p99 and errors.
func (r Result) Progress(unit string) string {
	return fmt.Sprintf("%8.0f %s/s  p50 %-8s p99 %-8s errors %d", r.OpsPerSec, unit, FormatDuration(r.P50), FormatDuration(r.P99), r.Errors)
}
