package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// bareServer is the bare DNS server the DNS scenario compares Herald
// with: in discobench's own process, or (with -bare=process) in a child
// discobench running with -serve-bare, so that it has its own Go runtime
// and its own process boundary, as Herald does.
type bareServer struct {
	addr  string
	close func() error
}

func startBare(mode, dir string, answer *dns.Msg) (*bareServer, error) {
	if mode != "process" {
		r, err := bench.NewSRVResponder("127.0.0.1:0", answer)
		if err != nil {
			return nil, err
		}
		return &bareServer{addr: r.Addr(), close: r.Close}, nil
	}
	wire, err := answer.Pack()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "bare-answer.bin")
	if err := os.WriteFile(path, wire, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-bare="+path)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = bench.SysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the bare DNS server: %w", err)
	}
	stop := func() error {
		retiredTicks += bench.ProcTicks(strconv.Itoa(cmd.Process.Pid))
		stdin.Close() // it exits when its stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return <-done
		}
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			stop()
			return nil, errors.New("the bare DNS server process did not say its address")
		}
		return &bareServer{addr: addr, close: stop}, nil
	case <-time.After(10 * time.Second):
		stop()
		return nil, errors.New("the bare DNS server process did not start within 10s")
	}
}

// serveBare is the child side of -bare=process: answer the packed message
// in path from a bare responder, print its address, and serve until stdin
// closes.
func serveBare(path string) int {
	child := bench.Tool{Name: tool.Name + " -serve-bare"}
	wire, err := os.ReadFile(path)
	if err != nil {
		return child.Fail(1, err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(wire); err != nil {
		return child.Fail(1, err)
	}
	r, err := bench.NewSRVResponder("127.0.0.1:0", m)
	if err != nil {
		return child.Fail(1, err)
	}
	defer r.Close()
	fmt.Println(r.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}
