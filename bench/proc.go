//go:build unix

package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heraldhq/herald/testutil/freeport"
)

// This file is the process side of the bench commands (kvbench,
// discobench, coordbench): starting a server under test on free loopback
// ports, waiting for it, reading its memory, and stopping it.

// Server is a server process under test. It runs in its own process group,
// so that Ctrl+C on the terminal reaches only the bench command, which
// then stops it; on Linux the kernel also kills it if the command dies
// without cleaning up. Its output goes to a log file, whose end is shown
// when it fails.
type Server struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	exited  chan struct{} // closed when the process has exited
	err     error         // its exit status, valid once exited is closed
}

// StartServer launches bin with args, its output going to dir/<name>.log,
// in an environment without the variables that would silently reconfigure
// etcd or a Consul-compatible agent (see ChildEnv). A server started again
// under the same name (after Kill, say) appends to the same log, below a
// line that marks the restart.
func StartServer(name, dir, bin string, args ...string) (*Server, error) {
	return startServer(name, dir, bin, 0, args)
}

// startServer is StartServer, the process running with group ID gid
// unless gid is 0.
func startServer(name, dir, bin string, gid uint32, args []string) (*Server, error) {
	logPath := filepath.Join(dir, name+".log")
	_, statErr := os.Stat(logPath)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if statErr == nil {
		fmt.Fprintf(logf, "---- %s started again at %s ----\n", name, time.Now().Format(time.RFC3339Nano))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = ChildEnv()
	cmd.SysProcAttr = SysProcAttr()
	if gid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(os.Getuid()), Gid: gid, NoSetGroups: true}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &Server{Name: name, Cmd: cmd, LogPath: logPath, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return s, nil
}

// ChildEnv is this process's environment without ETCD_* and CONSUL_*
// variables, which would reconfigure the servers under test behind the
// command line's back.
func ChildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_") || strings.HasPrefix(kv, "CONSUL_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Pid is the server's process ID.
func (s *Server) Pid() int { return s.Cmd.Process.Pid }

// Exited is closed once the process has exited; Err is then its exit
// status.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Err is the exit status, valid once Exited is closed.
func (s *Server) Err() error { return s.err }

// Alive returns an error with the end of the log if the server has exited.
func (s *Server) Alive() error {
	select {
	case <-s.exited:
		return s.exitError()
	default:
		return nil
	}
}

func (s *Server) exitError() error {
	return fmt.Errorf("%s exited (%v); its log:\n%s", s.Name, s.err, s.Tail(20))
}

// Poll calls try every 50ms, each call with a 2s deadline, until it
// succeeds, the process exits, timeout passes or ctx is done. A deadline
// missed (timeout's, or an earlier one of ctx) is named in the error
// together with what the server did not do ("accept a write").
func (s *Server) Poll(ctx context.Context, timeout time.Duration, what string, try func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		reqCtx, reqCancel := context.WithTimeout(ctx, 2*time.Second)
		last := try(reqCtx)
		reqCancel()
		if last == nil {
			return nil
		}
		select {
		case <-s.exited:
			return s.exitError()
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not %s within %v (last error: %v); its log:\n%s",
					s.Name, what, timeout, last, s.Tail(20))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// WaitWrite polls (see Poll) until t, a client of the server, accepts a
// write of key, which for every server measured here means a leader is
// elected and the log is writable, and then until also, if not nil,
// succeeds too. what says what the server did not do if it times out.
func (s *Server) WaitWrite(ctx context.Context, timeout time.Duration, t Target, key, what string, also func(context.Context) error) error {
	return s.Poll(ctx, timeout, what, func(ctx context.Context) error {
		if err := t.Put(ctx, key, []byte("1")); err != nil || also == nil {
			return err
		}
		return also(ctx)
	})
}

// Stop asks the server's process group to terminate and kills it if it
// has not exited after a grace period of 10s. It is safe to call more than
// once, and on a nil Server.
func (s *Server) Stop() {
	if s == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	// The negative pid addresses the whole group: servers that fork
	// helpers take them along.
	_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// Kill sends SIGKILL to the server's process group, as kill -9 would,
// and waits until the process has exited: no shutdown code runs. It
// returns the moment the signal was sent, from which failover times are
// measured. It does nothing (and returns the zero time) if the process had
// already exited.
func (s *Server) Kill() time.Time {
	select {
	case <-s.exited:
		return time.Time{}
	default:
	}
	at := time.Now()
	_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
	return at
}

// Tail returns the last n lines of the server's log, indented.
func (s *Server) Tail(n int) string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "  " + strings.Join(lines, "\n  ")
}

// ProcStatus reads a "kB" field of the server's /proc/<pid>/status, such
// as VmRSS or VmHWM, in bytes.
func (s *Server) ProcStatus(field string) (int64, error) {
	return ProcStatus(strconv.Itoa(s.Pid()), field)
}

// FreePort finds a free loopback port for a server to bind, free for
// both TCP and UDP (package freeport says how, and why not the kernel's
// port 0).
func FreePort() (int, error) { return FreePortOn("127.0.0.1") }

// FreePortOn is FreePort on the local address host (another loopback
// address such as 127.0.7.1, say).
func FreePortOn(host string) (int, error) { return freeport.On(host) }

// FreeDNSPort finds a loopback port free for both TCP and UDP, as a DNS
// interface binds both: any FreePort.
func FreeDNSPort() (int, error) { return FreePortOn("127.0.0.1") }

// FreeDNSPortOn is FreeDNSPort on the local address host.
func FreeDNSPortOn(host string) (int, error) { return FreePortOn(host) }

// ProcStatus reads a "kB" field such as VmRSS or VmHWM from
// /proc/<pid>/status (pid a number or "self") and returns it in bytes.
func ProcStatus(pid, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	return statusField(b, field, pid)
}

// statusField finds field in the text of a /proc/<pid>/status.
func statusField(b []byte, field, pid string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", field, rest, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%s/status", field, pid)
}

// FDHeadroom is how many more files the process pid ("self" or a number)
// may open: its soft open-file limit, from /proc/<pid>/limits, minus the
// descriptors it has open now.
func FDHeadroom(pid string) (headroom, limit int, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/limits")
	if err != nil {
		return 0, 0, err
	}
	if limit, err = openFileLimit(b); err != nil {
		return 0, 0, fmt.Errorf("/proc/%s/limits: %w", pid, err)
	}
	fds, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return 0, 0, err
	}
	return limit - len(fds), limit, nil
}

// openFileLimit reads the soft "Max open files" of a /proc/<pid>/limits.
func openFileLimit(b []byte) (int, error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		if f[0] == "unlimited" {
			return 1 << 30, nil
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return 0, fmt.Errorf("%q: %w", line, err)
		}
		return n, nil
	}
	return 0, errors.New("no open-file limit")
}

// FDReserve is what each side keeps free beside the connections of a
// fan-out: the server's store and log files, probes, the change request.
const FDReserve = 256

// ConnCap returns how many connections, one per what ("watchers"), fit
// in both this process's and srv's open-file limits (a loopback connection
// takes a descriptor on each side), FDReserve kept spare on each, and a
// note if that is fewer than asked. Where /proc cannot tell, it returns
// asked.
func ConnCap(asked int, what string, srv *Server) (int, string, error) {
	own, ownLimit, err := FDHeadroom("self")
	if err != nil {
		return asked, "", nil // not Linux: try as asked
	}
	theirs, theirLimit, err := FDHeadroom(strconv.Itoa(srv.Pid()))
	if err != nil {
		return 0, "", err
	}
	n := min(asked, own-FDReserve, theirs-FDReserve)
	if n < 1 {
		return 0, "", fmt.Errorf("no room for %s: open-file limits %d (here) and %d (%s)", what, ownLimit, theirLimit, srv.Name)
	}
	if n < asked {
		return n, fmt.Sprintf("running %d %s, not %d: open-file limits are %d here and %d in %s, each keeping %d spare",
			n, what, asked, ownLimit, theirLimit, srv.Name, FDReserve), nil
	}
	return n, "", nil
}

// RaiseOpenFiles raises this process's open-file limit, soft and hard, to
// want, so that many connections fit; children started afterwards (the
// server) inherit it. Without the privilege to raise the hard limit it
// raises the soft one as far as the hard one allows. It returns the soft
// limit in force and, when that is below want, why.
func RaiseOpenFiles(want uint64) (uint64, string) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Sprintf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur >= want {
		return lim.Cur, ""
	}
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(want, lim.Max)})
	if err == nil {
		return want, ""
	}
	note := fmt.Sprintf("could not raise the open-file limit to %d (%v): the hard limit is %d", want, err, lim.Max)
	if lim.Cur < lim.Max {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max}); err == nil {
			lim.Cur = lim.Max
		}
	}
	return lim.Cur, note + fmt.Sprintf(", soft limit now %d; raise it with `ulimit -Hn %d` as root (needs CAP_SYS_RESOURCE)", lim.Cur, want)
}
