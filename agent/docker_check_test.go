package agent_test

import (
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// A docker check runs its args inside the container through the Docker
// Engine API at DOCKER_HOST (here a stand-in daemon on a unix socket), is
// judged by the exec's exit code, and has Consul's Type "docker".
func TestDockerCheck(t *testing.T) {
	dir, err := os.MkdirTemp("", "dock") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var gotCmd []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /containers/web-ctr/exec", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Cmd []string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		gotCmd = body.Cmd
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"Id":"exec1"}`))
	})
	mux.HandleFunc("POST /exec/exec1/start", func(w http.ResponseWriter, r *http.Request) {
		payload := []byte("disk at 91%\n")
		hdr := make([]byte, 8)
		hdr[0] = 1 // stdout
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
		w.Write(append(hdr, payload...))
	})
	mux.HandleFunc("GET /exec/exec1/json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ExitCode":1,"Running":false}`))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+sock)

	a := agenttest.Start(t, "-dev", "-enable-script-checks")
	c := agenttest.Client(t, a.HTTPAddr())
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "disk", Name: "disk",
		AgentServiceCheck: api.AgentServiceCheck{DockerContainerID: "web-ctr", Shell: "/bin/sh",
			Args: []string{"/check_disk", "-w", "90"}, Interval: "100ms"}}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, "the docker check turned warning with the exec's output", func() (bool, string) {
		checks, err := c.Agent().Checks()
		if err != nil {
			return false, err.Error()
		}
		chk := checks["disk"]
		if chk == nil {
			return false, "no check"
		}
		return chk.Status == api.HealthWarning && chk.Output == "disk at 91%\n" && chk.Type == "docker",
			chk.Status + " " + chk.Type + " " + chk.Output
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(gotCmd, []string{"/check_disk", "-w", "90"}) {
		t.Fatalf("exec Cmd %q", gotCmd)
	}
}
