package agent_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
)

// socketDir is a directory with a path short enough for a Unix socket.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "herald-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// addresses.http = "unix://path" serves the HTTP API on that socket,
// replacing a socket file an earlier agent left, and HTTPAddr gives it in
// the form the official client takes.
func TestHTTPOnUnixSocketReplacesStale(t *testing.T) {
	sock := filepath.Join(socketDir(t), "http.sock")
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // the file stays, as after a crash

	a := agenttest.Start(t, "-dev", `-hcl=addresses { http = "unix://`+sock+`" }`)
	if a.HTTPAddr() != "unix://"+sock {
		t.Fatalf("HTTPAddr() = %q, want unix://%s", a.HTTPAddr(), sock)
	}
	c := agenttest.Client(t, a.HTTPAddr())
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("KV put through the socket: %v", err)
	}
}

// A file at the socket's path that is not a socket is not removed.
func TestHTTPOnUnixSocketKeepsOtherFiles(t *testing.T) {
	path := filepath.Join(socketDir(t), "http.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, "-dev", "-nats-port=0", `-hcl=addresses { http = "unix://`+path+`" }`)
	a := agent.New(cfg, nil)
	err := a.Start()
	if err == nil {
		a.Shutdown()
		t.Fatal("the agent started over a regular file at its socket path")
	}
	if !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("error: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Errorf("the file was changed: %q", b)
	}
}
