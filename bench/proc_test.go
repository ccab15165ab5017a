//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// startShell runs script under /bin/sh as a Server logging to dir.
func startShell(t *testing.T, dir, script string) *Server {
	t.Helper()
	s, err := StartServer("sh", dir, "/bin/sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// logHas polls until the server's log contains want.
func logHas(s *Server, want string) func(context.Context) error {
	return func(context.Context) error {
		b, _ := os.ReadFile(s.LogPath)
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("log has %q", b)
		}
		return nil
	}
}

func TestServerLifecycle(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONSUL_HTTP_ADDR", "leak")
	s := startShell(t, dir, `echo "started consul=[$CONSUL_HTTP_ADDR]"; exec sleep 60`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Poll(ctx, 5*time.Second, "start", logHas(s, "started")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Tail(5), "consul=[]") {
		t.Errorf("CONSUL_ variable passed on: %s", s.Tail(5))
	}
	if err := s.Alive(); err != nil {
		t.Fatal(err)
	}
	if rss, err := s.ProcStatus("VmRSS"); err != nil || rss <= 0 {
		t.Errorf("VmRSS %d, %v", rss, err)
	}
	t0 := time.Now()
	s.Stop()
	if time.Since(t0) > 5*time.Second {
		t.Errorf("Stop took %v for a process that dies on SIGTERM", time.Since(t0))
	}
	select {
	case <-s.Exited():
	default:
		t.Fatal("not exited after Stop")
	}
	if err := s.Alive(); err == nil || !strings.Contains(err.Error(), "started") {
		t.Errorf("Alive after Stop: %v, want the exit with the log", err)
	}
	s.Stop() // again: a no-op
	var none *Server
	none.Stop()

	// Polling a process that exits, and one that never gets there.
	bye := startShell(t, dir, "echo bye; exit 3")
	err := bye.Poll(ctx, 5*time.Second, "answer", func(context.Context) error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "bye") {
		t.Errorf("Poll on an exiting process: %v", err)
	}
	slow := startShell(t, dir, "exec sleep 60")
	short, cancelShort := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancelShort()
	err = slow.Poll(short, 150*time.Millisecond, "answer", func(context.Context) error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "did not answer within 150ms (last error: not yet)") {
		t.Errorf("Poll past its deadline: %v", err)
	}
}

func TestStartHeraldArguments(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-herald")
	// Writes its arguments, one a line, and waits.
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > \"$0.args.$$\"\nmv \"$0.args.$$\" \"$0.args\"\nexec sleep 60\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	args := func(cfg HeraldConfig) (*Herald, []string) {
		t.Helper()
		os.Remove(bin + ".args")
		h, err := StartHerald(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var lines []string
		if err := h.Poll(ctx, 5*time.Second, "write its arguments", func(context.Context) error {
			b, err := os.ReadFile(bin + ".args")
			lines = strings.Split(strings.TrimSpace(string(b)), "\n")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return h, lines
	}

	h, got := args(HeraldConfig{Bin: bin, Dir: dir, Node: "n9", Extra: []string{"-log-level=warn"}})
	for _, want := range []string{"agent", "-server", "-bootstrap-expect=1", "-data-dir=" + filepath.Join(dir, "herald-data"),
		"-node=n9", "-dns-port=-1", fmt.Sprintf("-http-port=%d", h.HTTPPort), "-serf-wan-port=-1", "-nats-cluster-port=-1"} {
		if !slices.Contains(got, want) {
			t.Errorf("arguments lack %s: %q", want, got)
		}
	}
	if got[len(got)-1] != "-log-level=warn" || h.DNSAddr != "" || h.Name != "herald" {
		t.Errorf("extra not last, or DNS %q, name %q: %q", h.DNSAddr, h.Name, got)
	}
	if want := "-nats-port=" + strings.TrimPrefix(h.NATSAddr, "127.0.0.1:"); !slices.Contains(got, want) ||
		h.NATSURL() != "nats://"+h.NATSAddr || h.HTTPAddr != fmt.Sprintf("127.0.0.1:%d", h.HTTPPort) {
		t.Errorf("addresses %s %s do not match %q", h.HTTPAddr, h.NATSAddr, got)
	}

	h, got = args(HeraldConfig{Bin: bin, Dir: dir, Name: "dev", Dev: true, DNS: true})
	if !slices.Contains(got, "-dev") || slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, "-data-dir") }) {
		t.Errorf("a -dev agent: %q", got)
	}
	if h.DNSAddr == "" || !slices.Contains(got, "-dns-port="+strings.TrimPrefix(h.DNSAddr, "127.0.0.1:")) {
		t.Errorf("DNS %q not in %q", h.DNSAddr, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "dev.log")); err != nil {
		t.Errorf("no log named after the agent: %v", err)
	}
}

func TestProcFiles(t *testing.T) {
	status := "Name:\therald\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
	if got, err := statusField([]byte(status), "VmRSS", "1"); err != nil || got != 102400*1024 {
		t.Errorf("VmRSS = %d, %v", got, err)
	}
	if _, err := statusField([]byte(status), "VmSwap", "1"); err == nil {
		t.Error("a missing field read")
	}
	limits := "Limit                     Soft Limit           Hard Limit           Units\n" +
		"Max open files            20000                40000                files\n"
	if got, err := openFileLimit([]byte(limits)); err != nil || got != 20000 {
		t.Errorf("open-file limit = %d, %v", got, err)
	}
	if got, err := openFileLimit([]byte("Max open files            unlimited            unlimited            files\n")); err != nil || got < 1<<20 {
		t.Errorf("unlimited = %d, %v", got, err)
	}
	if _, err := openFileLimit([]byte("Max processes 10 10\n")); err == nil {
		t.Error("no open-file line accepted")
	}

	s := startShell(t, t.TempDir(), "exec sleep 60")
	if n, note, err := ConnCap(10, "watchers", s); err != nil || n != 10 || note != "" {
		t.Errorf("ConnCap(10) = %d %q %v", n, note, err)
	}
	n, note, err := ConnCap(1<<30, "watchers", s)
	if err != nil || n >= 1<<30 || n < 1 || !strings.Contains(note, fmt.Sprintf("running %d watchers, not %d", n, 1<<30)) {
		t.Errorf("ConnCap(huge) = %d %q %v", n, note, err)
	}
	if cur, note := RaiseOpenFiles(1); cur < 1 || note != "" {
		t.Errorf("RaiseOpenFiles(1) = %d %q: the limit is already above", cur, note)
	}
}
