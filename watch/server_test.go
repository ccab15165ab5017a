package watch

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestStartServer(t *testing.T) {
	s := startTestServer(t)
	u, err := url.Parse(s.ClientURL())
	if err != nil || u.Scheme != "nats" || u.Port() == "" {
		t.Fatalf("ClientURL() = %q (%v)", s.ClientURL(), err)
	}
	nc := connect(t, s.ClientURL())
	// Round trip through the server, and JetStream must be up.
	sub, err := nc.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("x", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "hi" {
		t.Fatalf("NextMsg = %v, %v", m, err)
	}
	if _, err := nc.Request("$JS.API.INFO", nil, 5*time.Second); err != nil {
		t.Fatalf("JetStream API: %v", err)
	}
	s.Shutdown()
	s.Shutdown() // twice is fine
	if _, err := nats.Connect(s.ClientURL(), nats.Timeout(time.Second)); err == nil {
		t.Fatal("connected after Shutdown")
	}
}

func TestStartServerPortInUse(t *testing.T) {
	s := startTestServer(t)
	u, _ := url.Parse(s.ClientURL())
	port, _ := strconv.Atoi(u.Port())
	start := time.Now()
	s2, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: port, StoreDir: t.TempDir(), Logger: quietLogger()})
	if err == nil {
		s2.Shutdown()
		t.Fatal("second server on the same port started")
	}
	if !strings.Contains(err.Error(), "listen") || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error does not say the port could not be listened on: %v", err)
	}
	if !errors.Is(err, ErrClientPortInUse) || errors.Is(err, ErrClusterPortInUse) {
		t.Errorf("error is not ErrClientPortInUse alone, which callers retry on: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failing took %s; it should not wait out the ready timeout", d)
	}
}

func TestStartServerTempStore(t *testing.T) {
	s, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.tempDir
	if dir == "" {
		t.Fatal("no temporary store dir")
	}
	s.Shutdown()
	if _, err := statDir(dir); err == nil {
		t.Errorf("temporary store dir %s left behind", dir)
	}
}

func TestBadLogLevel(t *testing.T) {
	if _, err := StartServer(ServerConfig{Port: -1, LogLevel: "loud"}); err == nil {
		t.Fatal("accepted log level loud")
	}
}

// By default only NATS's errors reach the logger; with LogLevel info its
// notices do too.
func TestServerLogLevel(t *testing.T) {
	for _, c := range []struct {
		level   string
		notices bool
	}{{"", false}, {"info", true}} {
		var buf syncBuffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Logger: logger, LogLevel: c.level})
		if err != nil {
			t.Fatal(err)
		}
		s.Shutdown()
		out := buf.String()
		if got := strings.Contains(out, "level=INFO"); got != c.notices {
			t.Errorf("LogLevel %q: notices logged = %v, want %v:\n%s", c.level, got, c.notices, out)
		}
		if c.notices && !strings.Contains(out, "component=nats") {
			t.Errorf("NATS log lines not tagged component=nats:\n%s", out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A taken routes port is told apart from a taken client port: the agent
// replaces only the one its operator did not choose.
func TestStartServerClusterPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	s, err := StartServer(ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Logger: quietLogger(),
		ServerName: "n1", ClusterName: "c", ClusterPort: taken, Routes: []string{"nats-route://127.0.0.2:6222"}})
	if err == nil {
		s.Shutdown()
		t.Fatal("a server whose routes port is taken started")
	}
	if !errors.Is(err, ErrClusterPortInUse) || errors.Is(err, ErrClientPortInUse) {
		t.Errorf("error is not ErrClusterPortInUse alone: %v", err)
	}
}
