package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
)

// dig runs the real dig against the agent and returns the +short lines,
// sorted.
func dig(t *testing.T, server, name, qtype string) []string {
	t.Helper()
	host, port, _ := net.SplitHostPort(server)
	out, err := exec.Command("dig", "@"+host, "-p", port, name, qtype, "+short", "+time=2", "+tries=1").Output()
	if err != nil {
		t.Fatalf("dig %s %s: %v", name, qtype, err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines
}

func waitDig(t *testing.T, within time.Duration, server, name, qtype string, want func([]string) bool) []string {
	t.Helper()
	var got []string
	poll.Eventually(t, within, fmt.Sprintf("the wanted answer to dig %s %s", name, qtype), func() (bool, string) {
		got = dig(t, server, name, qtype)
		return want(got), fmt.Sprint(got)
	})
	return got
}

// serveHealth runs a web service with a /health endpoint, as web3 is in the
// walkthrough; stop ends it.
func serveHealth(t *testing.T) (port int, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			fmt.Fprintln(w, "ok")
			return
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, func() { srv.Close() }
}

func writeService(t *testing.T, dir, name string, port int) {
	t.Helper()
	def := fmt.Sprintf(`{"service": {"name": %q, "tags": ["v1"], "address": "127.0.0.1", "port": %d,
  "check": {"http": "http://127.0.0.1:%d/health", "interval": "1s"}}}`, name, port, port)
	if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWalkthroughServiceFromConfigDir is walkthrough 1 on one agent: a
// service defined in a config dir with an HTTP check shows in dig's SRV
// answer, leaves it within an interval of its process stopping, and a file
// added later is picked up on SIGHUP.
func TestWalkthroughServiceFromConfigDir(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig is not installed (Debian: dnsutils)")
	}
	conf := t.TempDir()
	port, stopWeb := serveHealth(t)
	writeService(t, conf, "web3", port)

	s := newServer(t)
	s.extraArgs = []string{"-config-dir=" + conf}
	s.start()

	want := fmt.Sprintf("1 1 %d ", port)
	waitDig(t, 10*time.Second, s.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool {
		return len(got) == 1 && strings.HasPrefix(got[0], want)
	})
	if got := dig(t, s.dnsAddr(), "v1.web3.service.consul", "SRV"); len(got) != 1 {
		t.Fatalf("tag lookup: %v", got)
	}
	// The server's own "consul" service is synced in the same pass as web3,
	// but not necessarily before it.
	waitDig(t, 5*time.Second, s.dnsAddr(), "consul.service.consul", "A", func(got []string) bool {
		return len(got) == 1 && got[0] == "127.0.0.1"
	})

	// The service's process stops: within one interval (1 s) plus the
	// time to notice, DNS stops answering with it.
	stopWeb()
	start := time.Now()
	waitDig(t, 4*time.Second, s.dnsAddr(), "web3.service.consul", "SRV", func(got []string) bool { return len(got) == 0 })
	t.Logf("web3 left DNS %v after its process stopped", time.Since(start).Round(time.Millisecond))

	// A definition added later appears after SIGHUP.
	port4, _ := serveHealth(t)
	writeService(t, conf, "web4", port4)
	s.signal(syscall.SIGHUP)
	waitDig(t, 10*time.Second, s.dnsAddr(), "web4.service.consul", "SRV", func(got []string) bool {
		return len(got) == 1 && strings.HasPrefix(got[0], fmt.Sprintf("1 1 %d ", port4))
	})
	// And removing the file removes the service on the next reload.
	if err := os.Remove(filepath.Join(conf, "web4.json")); err != nil {
		t.Fatal(err)
	}
	s.signal(syscall.SIGHUP)
	waitDig(t, 10*time.Second, s.dnsAddr(), "web4.service.consul", "SRV", func(got []string) bool { return len(got) == 0 })
}
