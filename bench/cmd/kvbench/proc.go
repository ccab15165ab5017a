package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heraldhq/herald/bench"
)

// server is a child process under test. It runs in its own process group
// so that Ctrl+C reaches only kvbench, which then stops it in order; its
// output goes to a log file that is shown if it fails.
type server struct {
	name   string
	addr   string // host:port of its client API
	cmd    *exec.Cmd
	log    string
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, valid once exited is closed
}

// freePort asks the kernel for a free loopback port. The port is released
// before the server binds it, so another process could take it in between;
// on a benchmark machine that race is rare enough to accept.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the environment for servers, without variables that would
// silently reconfigure etcd or Consul-compatible agents.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_") || strings.HasPrefix(kv, "CONSUL_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// start launches bin with args, logging to dir/name.log.
func start(name, addr, dir, bin string, args ...string) (*server, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = childEnv()
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, addr: addr, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return s, nil
}

// startEtcd starts a one-member etcd with its data in dir, on free loopback
// ports, with etcd's default durability (fsync on every commit).
func startEtcd(bin, dir string) (*server, error) {
	cport, err := freePort()
	if err != nil {
		return nil, err
	}
	pport, err := freePort()
	if err != nil {
		return nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cport)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pport)
	return start("etcd", strings.TrimPrefix(client, "http://"), dir, bin,
		"--name=kvbench",
		"--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster=kvbench="+peer,
		"--initial-cluster-state=new",
		"--logger=zap",
		"--log-level=warn",
	)
}

// startHerald starts a Herald agent on free loopback ports: a one-server
// cluster persisting to a data dir under dir (fsync on, like etcd), or with
// dev set, the in-memory -dev agent. Every listener gets a free port or is
// disabled, so that a Herald or Consul already running on the default ports
// neither breaks the run nor receives its traffic.
func startHerald(name, bin, dir string, dev bool, extra []string) (*server, error) {
	var ports [4]int // http, server (Raft/RPC), serf LAN, NATS
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	args := []string{"agent"}
	if dev {
		args = append(args, "-dev")
	} else {
		args = append(args, "-server", "-bootstrap-expect=1", "-data-dir="+filepath.Join(dir, name+"-data"))
	}
	args = append(args, "-node=n1", "-bind=127.0.0.1", "-client=127.0.0.1",
		fmt.Sprintf("-http-port=%d", ports[0]),
		fmt.Sprintf("-server-port=%d", ports[1]),
		fmt.Sprintf("-serf-lan-port=%d", ports[2]),
		fmt.Sprintf("-nats-port=%d", ports[3]),
		"-dns-port=-1", "-serf-wan-port=-1", "-nats-cluster-port=-1")
	args = append(args, extra...)
	return start(name, fmt.Sprintf("127.0.0.1:%d", ports[0]), dir, bin, args...)
}

// waitReady polls with a write until the server accepts one, which for
// both servers means a leader is elected and the log is writable. It gives
// up at the deadline, when the process exits, or when ctx is done.
func (s *server) waitReady(ctx context.Context, t bench.Target, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		reqCtx, reqCancel := context.WithTimeout(ctx, time.Second)
		last = t.Put(reqCtx, "bench/ready", []byte("1"))
		reqCancel()
		if last == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited before answering (%v); its log:\n%s", s.name, s.err, s.tail(20))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not accept a write within %v (last error: %v); its log:\n%s",
					s.name, timeout, last, s.tail(20))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// stop asks the server's process group to terminate and kills it if it has
// not exited after a grace period. It is safe to call more than once.
func (s *server) stop() {
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
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// tail returns the last n lines of the server's log.
func (s *server) tail(n int) string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "  " + strings.Join(lines, "\n  ")
}

// procStatus reads a "kB" field such as VmRSS or VmHWM from
// /proc/<pid>/status and returns it in bytes.
func (s *server) procStatus(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
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
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
}

// version returns the first line bin prints for --version, or "".
func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}
