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

func TestStartHeraldCluster(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-herald")
	// Writes its arguments, one a line, to a file named after its node,
	// and waits.
	script := "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in -node=*) n=${a#-node=};; esac; done\n" +
		"for a in \"$@\"; do echo \"$a\"; done > \"$0.$n.$$\"\nmv \"$0.$n.$$\" \"$0.$n\"\nexec sleep 60\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	argsOf := func(h *Herald) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var lines []string
		if err := h.Poll(ctx, 5*time.Second, "write its arguments", func(context.Context) error {
			b, err := os.ReadFile(bin + "." + h.Config.Node)
			lines = strings.Split(strings.TrimSpace(string(b)), "\n")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return lines
	}

	servers, clients, err := StartHeraldCluster(ClusterConfig{Bin: bin, Dir: dir, Servers: 3, Clients: 1, DNS: true, Extra: []string{"-log-level=warn"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range append(servers, clients...) {
		t.Cleanup(h.Stop)
	}
	if len(servers) != 3 || len(clients) != 1 {
		t.Fatalf("%d servers, %d clients", len(servers), len(clients))
	}
	for i, s := range servers {
		got := argsOf(s)
		next := servers[(i+1)%3]
		for _, want := range []string{"-server", "-bootstrap-expect=3", fmt.Sprintf("-node=s%d", i+1),
			"-data-dir=" + filepath.Join(dir, fmt.Sprintf("herald-s%d-data", i+1)),
			"-retry-join=" + next.SerfAddr, "-retry-interval=200ms",
			"-server-port=" + strings.TrimPrefix(s.RaftAddr, "127.0.0.1:"),
			"-dns-port=" + strings.TrimPrefix(s.DNSAddr, "127.0.0.1:")} {
			if !slices.Contains(got, want) {
				t.Errorf("s%d: arguments lack %s: %q", i+1, want, got)
			}
		}
		if got[len(got)-1] != "-log-level=warn" {
			t.Errorf("s%d: extra not last: %q", i+1, got)
		}
	}
	c := clients[0]
	got := argsOf(c)
	if slices.Contains(got, "-server") || slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, "-bootstrap-expect") }) ||
		!slices.Contains(got, "-node=c1") || !slices.Contains(got, "-data-dir="+filepath.Join(dir, "herald-c1-data")) {
		t.Errorf("client arguments: %q", got)
	}
	for _, s := range servers {
		if !slices.Contains(got, "-retry-join="+s.SerfAddr) {
			t.Errorf("the client does not join %s: %q", s.SerfAddr, got)
		}
	}

	// Killed and started again: same arguments, the log continued.
	s := servers[1]
	before := argsOf(s)
	if _, err := s.Restart(); err == nil {
		t.Fatal("restarted a running agent")
	}
	if at := s.Kill(); at.IsZero() {
		t.Fatal("Kill of a running agent returned no time")
	}
	if err := s.Alive(); err == nil {
		t.Fatal("alive after Kill")
	}
	if at := s.Kill(); !at.IsZero() {
		t.Error("Kill of an exited agent did something")
	}
	os.Remove(bin + ".s2")
	again, err := s.Restart()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(again.Stop)
	if after := argsOf(again); !slices.Equal(before, after) {
		t.Errorf("restarted with %q, first started with %q", after, before)
	}
	if !strings.Contains(again.Tail(5), "herald-s2 started again") {
		t.Errorf("the log does not mark the restart: %s", again.Tail(5))
	}

	if _, err := StartHerald(HeraldConfig{Bin: bin, Dir: dir, Dev: true, Client: true}); err == nil {
		t.Error("a -dev client agent started")
	}

	// A NATS cluster: every server on an address of its own, routing to
	// the others' cluster listeners.
	for _, h := range append(servers, clients...) {
		h.Stop()
		os.Remove(bin + "." + h.Config.Node)
	}
	addrs := []string{"127.0.7.1", "127.0.7.2", "127.0.7.3"}
	ns, _, err := StartHeraldCluster(ClusterConfig{Bin: bin, Dir: t.TempDir(), Servers: 3, ServerAddrs: addrs, NATSCluster: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range ns {
		t.Cleanup(h.Stop)
	}
	for i, s := range ns {
		got := argsOf(s)
		if !strings.HasPrefix(s.NATSClusterAddr, addrs[i]+":") || !strings.HasPrefix(s.HTTPAddr, addrs[i]+":") {
			t.Errorf("s%d listens on %s, %s; want %s", i+1, s.HTTPAddr, s.NATSClusterAddr, addrs[i])
		}
		want := []string{"-bind=" + addrs[i], "-client=" + addrs[i], "-nats-cluster-port=" + strings.TrimPrefix(s.NATSClusterAddr, addrs[i]+":")}
		for j, o := range ns {
			if j != i {
				want = append(want, "-nats-route="+o.NATSClusterAddr)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("s%d: arguments lack %s: %q", i+1, w, got)
			}
		}
		if slices.Contains(got, "-nats-route="+s.NATSClusterAddr) {
			t.Errorf("s%d routes to itself: %q", i+1, got)
		}
	}
	if _, _, err := StartHeraldCluster(ClusterConfig{Bin: bin, Dir: t.TempDir(), Servers: 3, NATSCluster: true}); err == nil {
		t.Error("a NATS cluster of servers on one address started")
	}
	if _, _, err := StartHeraldCluster(ClusterConfig{Bin: bin, Dir: t.TempDir(), Servers: 2, ServerAddrs: addrs}); err == nil {
		t.Error("three addresses for two servers accepted")
	}
}

func TestStartEtcdCluster(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-etcd")
	script := "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --name=*) n=${a#--name=};; esac; done\n" +
		"for a in \"$@\"; do echo \"$a\"; done > \"$0.$n.$$\"\nmv \"$0.$n.$$\" \"$0.$n\"\nexec sleep 60\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	members, err := StartEtcd(bin, dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	var cluster string
	for i, m := range members {
		t.Cleanup(m.Stop)
		name := fmt.Sprintf("etcd%d", i+1)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var got []string
		err := m.Poll(ctx, 5*time.Second, "write its arguments", func(context.Context) error {
			b, err := os.ReadFile(bin + "." + name)
			got = strings.Split(strings.TrimSpace(string(b)), "\n")
			return err
		})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"--name=" + name, "--data-dir=" + filepath.Join(dir, name+"-data"),
			"--listen-client-urls=http://" + m.ClientAddr, "--initial-cluster-state=new"} {
			if !slices.Contains(got, want) {
				t.Errorf("%s: arguments lack %s: %q", name, want, got)
			}
		}
		for _, a := range got {
			if c, ok := strings.CutPrefix(a, "--initial-cluster="); ok {
				if cluster != "" && c != cluster {
					t.Errorf("%s: --initial-cluster=%s, others %s", name, c, cluster)
				}
				cluster = c
			}
		}
	}
	if strings.Count(cluster, "=http://127.0.0.1:") != 3 || !strings.HasPrefix(cluster, "etcd1=") {
		t.Errorf("--initial-cluster=%s: want three members", cluster)
	}
	one, err := StartEtcd(bin, t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(one[0].Stop)
	if one[0].Name != "etcd" {
		t.Errorf("a one-member cluster's process is %q, want etcd", one[0].Name)
	}
}
