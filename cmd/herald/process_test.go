package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/freeport"
	"github.com/heraldhq/herald/testutil/poll"
)

// heraldBin is the binary built once for the tests in this package, which
// run Herald as separate processes so that they can kill it for real.
var heraldBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-bin-")
	if err != nil {
		panic(err)
	}
	heraldBin = filepath.Join(dir, "herald")
	build := exec.Command("go", "build", "-o", heraldBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build herald:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// server is a persistent single-server Herald process with fixed ports, so
// it can be killed and started again on the same data.
type server struct {
	t         *testing.T
	dataDir   string
	httpPort  int
	natsPort  int
	raftPort  int
	dnsPort   int
	serfPort  int
	node      string
	expect    int
	ip        string // 127.0.0.1 unless set
	client    bool   // a client agent: no -server
	extraArgs []string
	// group, if not 0, is the group ID the process runs with (root
	// only), for firewall rules that match its packets (wancut_test.go).
	group     uint32
	cmd       *exec.Cmd
	logPath   string
	startedAt int
}

func newServer(t *testing.T) *server {
	return register(&server{t: t, dataDir: t.TempDir(), httpPort: freePort(t), natsPort: freePort(t), raftPort: freePort(t),
		dnsPort: freePort(t), serfPort: freePort(t), logPath: filepath.Join(t.TempDir(), "herald.log")})
}

// serversOf holds every server a test made, so that a failure can show
// all their logs: why one server found no leader is often in another's.
var serversOf sync.Map // *testing.T -> *[]*server

func register(s *server) *server {
	list, _ := serversOf.LoadOrStore(s.t, new([]*server))
	if len(*list.(*[]*server)) == 0 {
		s.t.Cleanup(func() { serversOf.Delete(s.t) })
	}
	*list.(*[]*server) = append(*list.(*[]*server), s)
	return s
}

// logs is the log of every server of s's test, s's first.
func (s *server) logs() string {
	var b strings.Builder
	list, _ := serversOf.Load(s.t)
	others := []*server{s}
	if list != nil {
		for _, o := range *list.(*[]*server) {
			if o != s {
				others = append(others, o)
			}
		}
	}
	for _, o := range others {
		log, _ := os.ReadFile(o.logPath)
		fmt.Fprintf(&b, "== %s (%s) ==\n%s\n", o.node, o.httpAddr(), log)
	}
	return b.String()
}

// newLoopbackServer is a server on its own loopback address with Consul's
// default ports, as several agents on one host run.
func newLoopbackServer(t *testing.T, ip string) *server {
	return register(&server{t: t, ip: ip, dataDir: t.TempDir(), httpPort: 8500, natsPort: 4222, raftPort: 8300,
		dnsPort: 8600, serfPort: 8301, logPath: filepath.Join(t.TempDir(), "herald.log")})
}

func (s *server) addr() string {
	if s.ip == "" {
		return "127.0.0.1"
	}
	return s.ip
}
func (s *server) httpAddr() string { return fmt.Sprintf("%s:%d", s.addr(), s.httpPort) }
func (s *server) natsURL() string  { return fmt.Sprintf("nats://%s:%d", s.addr(), s.natsPort) }
func (s *server) dnsAddr() string  { return fmt.Sprintf("%s:%d", s.addr(), s.dnsPort) }
func (s *server) serfAddr() string { return fmt.Sprintf("%s:%d", s.addr(), s.serfPort) }

// start runs the server and waits until it has a leader.
func (s *server) start() {
	s.t.Helper()
	s.launch()
	s.waitLeader()
}

// launch runs the server's process and returns at once.
func (s *server) launch() {
	s.t.Helper()
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	s.startedAt++
	fmt.Fprintf(logFile, "---- start %d ----\n", s.startedAt)
	s.cmd = exec.Command(heraldBin, append([]string{"agent"}, s.agentArgs()...)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if s.group != 0 {
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(os.Getuid()), Gid: s.group, NoSetGroups: true}}
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { s.kill() })
}

// agentArgs are the options the server's agent runs with.
func (s *server) agentArgs() []string {
	expect := s.expect
	if expect == 0 {
		expect = 1
	}
	node := s.node
	if node == "" {
		node = "n1"
	}
	args := []string{"-server", fmt.Sprintf("-bootstrap-expect=%d", expect)}
	if s.client {
		args = nil
	}
	args = append(args, "-data-dir="+s.dataDir, "-node="+node, "-bind="+s.addr(), "-client="+s.addr(),
		fmt.Sprintf("-http-port=%d", s.httpPort), fmt.Sprintf("-dns-port=%d", s.dnsPort),
		fmt.Sprintf("-server-port=%d", s.raftPort), fmt.Sprintf("-nats-port=%d", s.natsPort),
		fmt.Sprintf("-serf-lan-port=%d", s.serfPort), "-serf-wan-port=-1", "-log-level=warn")
	return append(args, s.extraArgs...)
}

// statusLeader is the server's answer to /v1/status/leader, trimmed.
func (s *server) statusLeader() (string, error) {
	res, err := http.Get("http://" + s.httpAddr() + "/v1/status/leader")
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(bytes.TrimSpace(b)), err
}

// leaderOnceUp waits until the server's API answers and returns its
// /v1/status/leader: `""` while it has none.
func (s *server) leaderOnceUp(within time.Duration) string {
	s.t.Helper()
	var leader string
	poll.Eventually(s.t, within, s.node+"'s API up", func() (bool, string) {
		var err error
		leader, err = s.statusLeader()
		return err == nil, fmt.Sprint(err)
	})
	return leader
}

// waitLeader waits until the server's API names a leader.
func (s *server) waitLeader() {
	s.t.Helper()
	s.waitLeaderWithin(30 * time.Second)
}

// waitLeaderWithin is waitLeader with its own bound.
func (s *server) waitLeaderWithin(within time.Duration) {
	s.t.Helper()
	// Until, not Eventually: the failure message carries the server's log.
	last, ok := poll.Until(within, func() (bool, string) {
		leader, err := s.statusLeader()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(leader, ":"), "leader " + leader
	})
	if !ok {
		s.t.Fatalf("server %s did not get a leader within %v (last seen: %s); logs:\n%s", s.node, within, last, s.logs())
	}
}

// kill stops the process with SIGKILL: no shutdown code runs.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	s.cmd = nil
}

// signal sends the process a signal.
func (s *server) signal(sig os.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// stop stops the process gracefully.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.t.Error("server did not stop on SIGTERM within 20s")
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
