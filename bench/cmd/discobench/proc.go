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
	"github.com/miekg/dns"
)

// server is the Herald agent under test, a child process in its own
// process group so that Ctrl+C reaches only discobench, which then stops
// it; its output goes to a log file shown if it fails. (The same shape as
// kvbench's, which lives in that command's package.)
type server struct {
	name     string
	httpAddr string // host:port of the HTTP API
	dnsAddr  string // host:port of the DNS interface (UDP and TCP)
	httpPort int
	cmd      *exec.Cmd
	log      string
	exited   chan struct{} // closed when the process has exited
	err      error         // its exit status, valid once exited is closed
}

// freePort asks the kernel for a free loopback TCP port. It is released
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

// freeDNSPort finds a loopback port free for both TCP and UDP, as the DNS
// interface binds both.
func freeDNSPort() (int, error) {
	for range 20 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			pc.Close()
			return p, nil
		}
	}
	return 0, errors.New("no loopback port free for both TCP and UDP")
}

// childEnv is the environment for the server, without variables that
// would silently reconfigure a Consul-compatible agent.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONSUL_") {
			env = append(env, kv)
		}
	}
	return env
}

// agentNode is the agent's own node name, apart from the n0, n1, ... nodes
// the scenarios register through the catalog: the agent's anti-entropy
// owns its node and would remove services registered there by others.
const agentNode = "discobench-agent"

// startHerald starts a one-server Herald persisting to a data dir under
// dir (fsync on) with every listener on a free loopback port or disabled,
// so that an agent already running on the default ports neither breaks the
// run nor receives its traffic.
func startHerald(bin, dir string, extra []string) (*server, error) {
	var ports [4]int // http, server (Raft/RPC), serf LAN, NATS
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	dnsPort, err := freeDNSPort()
	if err != nil {
		return nil, err
	}
	args := []string{"agent", "-server", "-bootstrap-expect=1", "-data-dir=" + filepath.Join(dir, "herald-data"),
		"-node=" + agentNode, "-bind=127.0.0.1", "-client=127.0.0.1",
		fmt.Sprintf("-http-port=%d", ports[0]),
		fmt.Sprintf("-dns-port=%d", dnsPort),
		fmt.Sprintf("-server-port=%d", ports[1]),
		fmt.Sprintf("-serf-lan-port=%d", ports[2]),
		fmt.Sprintf("-nats-port=%d", ports[3]),
		"-serf-wan-port=-1", "-nats-cluster-port=-1"}
	args = append(args, extra...)

	logPath := filepath.Join(dir, "herald.log")
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
		return nil, fmt.Errorf("start herald: %w", err)
	}
	s := &server{name: "herald", cmd: cmd, log: logPath, exited: make(chan struct{}),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]), httpPort: ports[0],
		dnsAddr: fmt.Sprintf("127.0.0.1:%d", dnsPort)}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return s, nil
}

// waitReady polls until the agent accepts a write (a leader is elected and
// the log is writable) and its DNS interface answers, giving up at the
// deadline, when the process exits, or when ctx is done.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	kv := bench.NewConsulKV(s.httpAddr, 1)
	defer kv.Close()
	return s.poll(ctx, timeout, "accept a write and answer DNS", func(ctx context.Context) error {
		if err := kv.Put(ctx, "discobench/ready", []byte("1")); err != nil {
			return err
		}
		_, err := bench.LookupOnce(ctx, s.dnsAddr, "consul.service.consul", dns.TypeSRV)
		return err
	})
}

// poll calls try every 50ms until it succeeds, the process exits, or ctx
// (which should carry a deadline of timeout) is done.
func (s *server) poll(ctx context.Context, timeout time.Duration, what string, try func(context.Context) error) error {
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
			return fmt.Errorf("%s exited (%v); its log:\n%s", s.name, s.err, s.tail(20))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not %s within %v (last error: %v); its log:\n%s",
					s.name, what, timeout, last, s.tail(20))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// alive returns an error with the end of the log if the server has exited.
func (s *server) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("%s exited (%v); its log:\n%s", s.name, s.err, s.tail(20))
	default:
		return nil
	}
}

// stop asks the server's process group to terminate and kills it if it
// has not exited after a grace period. It is safe to call more than once.
func (s *server) stop() {
	if s == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
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

// procStatus reads a "kB" field such as VmRSS or VmHWM from the server's
// /proc/<pid>/status and returns it in bytes.
func (s *server) procStatus(field string) (int64, error) {
	return procStatus(strconv.Itoa(s.cmd.Process.Pid), field)
}

func procStatus(pid, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
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
	return 0, fmt.Errorf("no %s in /proc/%s/status", field, pid)
}

// fdHeadroom is how many more files the process pid ("self" or a number)
// may open: its soft open-file limit, from /proc/<pid>/limits, minus the
// descriptors it has open now.
func fdHeadroom(pid string) (headroom, limit int, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/limits")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			if f[0] == "unlimited" {
				limit = 1 << 30
			} else if limit, err = strconv.Atoi(f[0]); err != nil {
				return 0, 0, fmt.Errorf("/proc/%s/limits: %q: %w", pid, line, err)
			}
		}
	}
	if limit == 0 {
		return 0, 0, fmt.Errorf("no open-file limit in /proc/%s/limits", pid)
	}
	fds, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return 0, 0, err
	}
	return limit - len(fds), limit, nil
}
