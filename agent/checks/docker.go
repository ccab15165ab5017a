package checks

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/heraldhq/herald/event"
)

// defaultDockerHost is where the Docker daemon listens when DOCKER_HOST is
// unset, as Docker's own clients (and Consul) assume.
const defaultDockerHost = "unix:///var/run/docker.sock"

// dockerProber runs docker checks: an exec of Args in the container, through
// the Docker Engine API, judged like a script by its exit code (0 passing,
// 1 warning, else critical), with the exec's output as the check's.
type dockerProber struct {
	container string
	args      []string
	maxOutput int
	client    *http.Client
	base      string // URL prefix of the API
}

func newDockerProber(d Definition) dockerProber {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = defaultDockerHost
	}
	p := dockerProber{container: d.DockerContainerID, args: d.Args, maxOutput: d.OutputMaxSize,
		client: &http.Client{}, base: "http://docker"}
	if path, ok := strings.CutPrefix(host, "unix://"); ok {
		p.client.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}
	} else {
		p.base = "http://" + strings.TrimPrefix(host, "tcp://")
	}
	return p
}

func (p dockerProber) probe(ctx context.Context) (string, string) {
	output, code, err := p.exec(ctx)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return event.HealthCritical, "Timed out running check in container " + p.container
		}
		return event.HealthCritical, err.Error()
	}
	switch code {
	case 0:
		return event.HealthPassing, output
	case 1:
		return event.HealthWarning, output
	default:
		return event.HealthCritical, output
	}
}

// exec creates the exec, runs it attached, and reads its exit code.
func (p dockerProber) exec(ctx context.Context) (string, int, error) {
	var created struct{ Id string }
	if err := p.call(ctx, http.MethodPost, "/containers/"+url.PathEscape(p.container)+"/exec",
		map[string]any{"AttachStdout": true, "AttachStderr": true, "Tty": false, "Cmd": p.args}, &created); err != nil {
		return "", 0, fmt.Errorf("create exec in container %s: %w", p.container, err)
	}
	resp, err := p.do(ctx, http.MethodPost, "/exec/"+created.Id+"/start", map[string]any{"Detach": false, "Tty": false})
	if err != nil {
		return "", 0, fmt.Errorf("start exec in container %s: %w", p.container, err)
	}
	out := newTailBuffer(p.maxOutput)
	err = demuxDockerStream(resp.Body, out)
	resp.Body.Close()
	if err != nil {
		return "", 0, fmt.Errorf("read exec output: %w", err)
	}
	var inspect struct{ ExitCode int }
	if err := p.call(ctx, http.MethodGet, "/exec/"+created.Id+"/json", nil, &inspect); err != nil {
		return "", 0, fmt.Errorf("inspect exec: %w", err)
	}
	return out.String(), inspect.ExitCode, nil
}

func (p dockerProber) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, fmt.Errorf("docker API %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	return resp, nil
}

func (p dockerProber) call(ctx context.Context, method, path string, body, out any) error {
	resp, err := p.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// demuxDockerStream copies the payloads of Docker's multiplexed stdout and
// stderr stream (frames of an 8-byte header, whose last four bytes are the
// big-endian payload size, and the payload) to w.
func demuxDockerStream(r io.Reader, w io.Writer) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if _, err := io.CopyN(w, r, int64(binary.BigEndian.Uint32(hdr[4:]))); err != nil {
			return err
		}
	}
}
