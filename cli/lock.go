package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
)

// lockKillGrace is how long a child asked to stop (lock lost, or lock
// interrupted) gets before it is killed, as Consul documents it.
const lockKillGrace = 5 * time.Second

// lockDefaultMonitorRetry is Consul's default for -monitor-retry.
const lockDefaultMonitorRetry = 3

// lockSignals are the signals lock catches: while it waits for the lock the
// stopping ones abort the wait; once the child runs all are passed on to it.
var lockSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2}

// stoppingSignal reports whether sig asks the process to end.
func stoppingSignal(sig os.Signal) bool {
	return sig == os.Interrupt || sig == syscall.SIGTERM || sig == syscall.SIGHUP || sig == syscall.SIGQUIT
}

type lockCmd struct {
	http          httpFlags
	limit         int
	name          string
	passStdin     bool
	shell         bool
	timeout       time.Duration
	monitorRetry  int
	childExitCode bool
	verbose       bool
}

func (c *lockCmd) flags() *flag.FlagSet {
	fs := newFlagSet("lock")
	c.http.addTo(fs)
	fs.IntVar(&c.limit, "n", 1,
		"How many holders the lock admits. 1 is a lock (mutual exclusion); more makes it a "+
			"semaphore. Every holder of a prefix must use the same `count`.")
	fs.StringVar(&c.name, "name", "",
		"`Name` of the session that holds the lock, as shown by the session API. Defaults to "+
			"one naming the command and the prefix.")
	fs.BoolVar(&c.passStdin, "pass-stdin", false,
		"Give the child this command's standard input. Otherwise the child's is empty.")
	fs.BoolVar(&c.shell, "shell", true,
		"Run the child through the shell ($SHELL, else /bin/sh) with its arguments joined "+
			"by spaces. With -shell=false the first argument is run directly with the others as its arguments.")
	fs.DurationVar(&c.timeout, "timeout", 0,
		"Give up if the lock is not acquired within this `duration` (such as 10s or 2m), "+
			"exiting with 1. 0 waits as long as it takes.")
	fs.DurationVar(&c.timeout, "try", 0,
		"Former name of -timeout: try to acquire the lock for at most this `duration`.")
	fs.IntVar(&c.monitorRetry, "monitor-retry", lockDefaultMonitorRetry,
		"How many times in a row to retry when the agent answers a check of the held lock "+
			"with a server error (500), before taking the lock as lost. 0 disables retries.")
	fs.BoolVar(&c.childExitCode, "child-exit-code", false,
		"Exit with the child's exit code (128+N if signal N ended it). Otherwise the command "+
			"exits 0 once the child ran and the lock was released, whatever the child's status.")
	fs.BoolVar(&c.verbose, "verbose", false,
		"Report each step (setting up, acquiring, running the child, releasing) on stderr.")
	return fs
}

var lockHelp = commandHelp("lock [options] PREFIX CHILD...", `
Acquires a lock under PREFIX in the key-value store, runs CHILD while holding
it, and releases it when CHILD exits. The child sees CONSUL_LOCK_HELD=true in
its environment.

    $ {{prog}} lock service/backup/lock /usr/local/bin/backup.sh

With -n greater than 1 the lock is a semaphore that up to that many holders
may hold at once, for example to keep N of N+1 deployed instances running:

    $ {{prog}} lock -n=2 service/worker/lock ./worker --queue=jobs

A single lock is held through the key PREFIX/.lock; a semaphore keeps one
key per contender under PREFIX plus PREFIX/.lock for the list of holders.

If the lock is lost while the child runs (its session was invalidated, or
the agent could not be reached), the child is sent SIGTERM and, if it is
still running 5 seconds later, SIGKILL; lock then exits with 1. Signals
sent to lock while the child runs are passed on to it (SIGINT and SIGTERM
also start the 5 second grace period). SIGINT, SIGTERM, SIGHUP or SIGQUIT
while waiting for the lock gives up the wait.

Exit codes: 1 if the lock could not be acquired (or -timeout passed), was
lost, or could not be released; otherwise 0, or with -child-exit-code the
child's own exit code.`, new(lockCmd).flags())

func init() {
	Register(Command{
		Name:     "lock",
		Synopsis: "Execute a command holding a lock",
		Help:     lockHelp,
		Run: func(args []string, cio IO) int {
			signals := make(chan os.Signal, 8)
			signal.Notify(signals, lockSignals...)
			defer signal.Stop(signals)
			return new(lockCmd).run(args, cio, signals)
		},
	})
}

// lockHolder is what a lock and a semaphore have in common.
type lockHolder struct {
	acquire func(stop <-chan struct{}) (<-chan struct{}, error)
	release func() error
	destroy func() error
	// notHeld and inUse are the errors release and destroy return when
	// the lock is no longer held, and when others still use it.
	notHeld, inUse error
}

func (c *lockCmd) run(args []string, cio IO, signals <-chan os.Signal) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, lockHelp, cio); !ok {
		return code
	}
	rest := fs.Args()
	if len(rest) < 2 {
		fmt.Fprintf(cio.Stderr, "Error! Expected a PREFIX and a command to run, got %d argument(s)\n\n%s\n",
			len(rest), renderHelp(lockHelp, Prog(cio)))
		return 1
	}
	prefix, child := strings.TrimPrefix(rest[0], "/"), rest[1:]
	switch {
	case prefix == "":
		fmt.Fprintln(cio.Stderr, "Error! The lock PREFIX must not be empty")
		return 1
	case c.limit < 1:
		fmt.Fprintf(cio.Stderr, "Error! -n must be at least 1, got %d\n", c.limit)
		return 1
	case c.timeout < 0:
		fmt.Fprintln(cio.Stderr, "Error! -timeout must not be negative")
		return 1
	case c.monitorRetry < 0:
		fmt.Fprintln(cio.Stderr, "Error! -monitor-retry must not be negative")
		return 1
	}

	// Blocking queries the lock helpers leave running are cut off when
	// the command is done, or at once when it is interrupted while waiting.
	abort, cancelBlocking := context.WithCancel(context.Background())
	defer cancelBlocking()
	client, err := c.abortableClient(cio, abort)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error connecting to agent: %s\n", err)
		return 1
	}
	say := func(format string, a ...any) {
		if c.verbose {
			fmt.Fprintf(cio.Stderr, format+"\n", a...)
		}
	}

	name := c.name
	if name == "" {
		name = fmt.Sprintf("%s lock for '%s' at '%s'", Prog(cio), strings.Join(child, " "), prefix)
	}
	holder, err := c.holder(client, prefix, name, say)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! Lock setup failed: %s\n", err)
		return 1
	}

	// Acquire, giving up on a stopping signal.
	say("Attempting lock acquisition")
	stop := make(chan struct{})
	type acquired struct {
		lost <-chan struct{}
		err  error
	}
	result := make(chan acquired, 1)
	go func() {
		lost, err := holder.acquire(stop)
		result <- acquired{lost, err}
	}()
	var got acquired
wait:
	for {
		select {
		case got = <-result:
			break wait
		case sig := <-signals:
			if !stoppingSignal(sig) {
				continue
			}
			close(stop)
			cancelBlocking()
			if late := <-result; late.lost != nil {
				// Acquired just as the signal came: give it back.
				_ = holder.release()
				_ = holder.destroy()
			}
			fmt.Fprintf(cio.Stderr, "Interrupted (%s) while waiting for the lock\n", sig)
			return 1
		}
	}
	switch {
	case got.err != nil:
		fmt.Fprintf(cio.Stderr, "Error! Lock acquisition failed: %s\n", got.err)
		return 1
	case got.lost == nil:
		fmt.Fprintf(cio.Stderr, "Error! Lock not acquired within %s (-timeout)\n", c.timeout)
		return 1
	}
	say("Lock acquired")

	code, lostLock := c.runChild(child, cio, got.lost, signals, say)

	say("Releasing the lock")
	if err := holder.release(); err != nil && !(lostLock && errors.Is(err, holder.notHeld)) {
		fmt.Fprintf(cio.Stderr, "Error! Lock release failed: %s\n", err)
		return 1
	}
	switch err := holder.destroy(); {
	case err == nil:
		say("Cleanup succeeded")
	case errors.Is(err, holder.inUse):
		say("Cleanup skipped: others are using the lock")
	case lostLock:
	default:
		fmt.Fprintf(cio.Stderr, "Error! Lock cleanup failed: %s\n", err)
		return 1
	}
	if lostLock {
		return 1
	}
	if c.childExitCode {
		return code
	}
	return 0
}

// holder sets up the lock or semaphore under prefix.
func (c *lockCmd) holder(client *api.Client, prefix, name string, say func(string, ...any)) (*lockHolder, error) {
	if c.limit == 1 {
		key := path.Join(prefix, api.DefaultSemaphoreKey)
		say("Setting up lock at path: %s", key)
		l, err := client.LockOpts(&api.LockOptions{
			Key:            key,
			SessionName:    name,
			MonitorRetries: c.monitorRetry,
			LockTryOnce:    c.timeout > 0,
			LockWaitTime:   c.timeout,
		})
		if err != nil {
			return nil, err
		}
		return &lockHolder{acquire: l.Lock, release: l.Unlock, destroy: l.Destroy,
			notHeld: api.ErrLockNotHeld, inUse: api.ErrLockInUse}, nil
	}
	say("Setting up semaphore (limit %d) at prefix: %s", c.limit, prefix)
	s, err := client.SemaphoreOpts(&api.SemaphoreOptions{
		Prefix:            prefix,
		Limit:             c.limit,
		SessionName:       name,
		MonitorRetries:    c.monitorRetry,
		SemaphoreTryOnce:  c.timeout > 0,
		SemaphoreWaitTime: c.timeout,
	})
	if err != nil {
		return nil, err
	}
	return &lockHolder{acquire: s.Acquire, release: s.Release, destroy: s.Destroy,
		notHeld: api.ErrSemaphoreNotHeld, inUse: api.ErrSemaphoreInUse}, nil
}

// runChild runs the child until it exits, passing signals on and stopping
// it if the lock is lost. code is the child's exit code; lostLock reports
// that the lock was lost while it ran.
func (c *lockCmd) runChild(child []string, cio IO, lost <-chan struct{}, signals <-chan os.Signal,
	say func(string, ...any)) (code int, lostLock bool) {
	var cmd *exec.Cmd
	if c.shell {
		cmd = exec.Command(shellOf(cio), "-c", strings.Join(child, " "))
	} else {
		cmd = exec.Command(child[0], child[1:]...)
	}
	cmd.Env = append(os.Environ(), "CONSUL_LOCK_HELD=true")
	if c.passStdin {
		cmd.Stdin = cio.Stdin
	}
	cmd.Stdout, cmd.Stderr = cio.Stdout, cio.Stderr
	// Output copying must not outlast the child by much when it leaves
	// a background process holding its output open.
	cmd.WaitDelay = 2 * time.Second
	say("Starting the child: %s", strings.Join(child, " "))
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(cio.Stderr, "Error! Cannot start the child: %s\n", err)
		return 1, false
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var kill <-chan time.Time
	terminate := func(sig os.Signal) {
		_ = cmd.Process.Signal(sig)
		if kill == nil {
			kill = time.After(lockKillGrace)
		}
	}
	for {
		select {
		case err := <-exited:
			return exitCode(cmd, err), lostLock
		case <-lost:
			lost = nil
			lostLock = true
			fmt.Fprintln(cio.Stderr, "Error! Lock lost: stopping the child")
			terminate(syscall.SIGTERM)
		case sig := <-signals:
			say("Passing %s on to the child", sig)
			if sig == os.Interrupt || sig == syscall.SIGTERM {
				terminate(sig)
			} else {
				_ = cmd.Process.Signal(sig)
			}
		case <-kill:
			kill = nil
			say("The child is still running after %s: killing it", lockKillGrace)
			_ = cmd.Process.Kill()
		}
	}
}

// exitCode is the child's exit status: its code, 128+N when signal N ended
// it, 1 for any other failure to wait for it.
func exitCode(cmd *exec.Cmd, err error) int {
	if st := cmd.ProcessState; st != nil {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		if st.ExitCode() >= 0 {
			return st.ExitCode()
		}
	}
	if err != nil {
		return 1
	}
	return 0
}

// shellOf is the shell that runs command lines: $SHELL, else /bin/sh, as
// Consul documents for lock and watch.
func shellOf(cio IO) string {
	if s := cio.Env("SHELL"); s != "" {
		return s
	}
	return "/bin/sh"
}

// abortableClient is the agent client whose blocking queries (requests with
// ?index) end when abort does. The lock helpers give no way to cancel the
// query they are waiting in; without this, giving up a wait would take up to
// a whole wait time.
func (c *lockCmd) abortableClient(cio IO, abort context.Context) (*api.Client, error) {
	cfg, err := c.http.apiConfig(cio.Env)
	if err != nil {
		return nil, err
	}
	base := cfg.HttpClient.Transport
	cfg.HttpClient = &http.Client{Transport: abortBlocking{base: base, abort: abort}}
	return api.NewClient(cfg)
}

type abortBlocking struct {
	base  http.RoundTripper
	abort context.Context
}

func (t abortBlocking) RoundTrip(r *http.Request) (*http.Response, error) {
	if idx := r.URL.Query().Get("index"); idx != "" && idx != "0" {
		ctx, cancel := context.WithCancel(r.Context())
		stop := context.AfterFunc(t.abort, cancel)
		resp, err := t.base.RoundTrip(r.WithContext(ctx))
		if err != nil {
			stop()
			cancel()
			return nil, err
		}
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { stop(); cancel() }}
		return resp, nil
	}
	return t.base.RoundTrip(r)
}

// cancelOnClose releases a request's context once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
