package plan

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultShell runs a ScriptHandler's Script when Shell is empty.
const DefaultShell = "/bin/sh"

// DefaultHTTPTimeout bounds an HTTP handler's request when Timeout is zero.
const DefaultHTTPTimeout = 10 * time.Second

// maxLoggedOutput caps how much of a script's output is kept for the log.
const maxLoggedOutput = 4 << 10

// ScriptHandler runs a program for each update, with the update's JSON
// (and a newline) on its standard input and CONSUL_INDEX in its
// environment. A non-zero exit is an error.
type ScriptHandler struct {
	// Args is the program and its arguments, run as they are. Exactly one
	// of Args and Script must be set.
	Args []string
	// Script is a command line run with Shell -c.
	Script string
	// Shell runs Script; empty means DefaultShell.
	Shell string
	// Env is the environment the program starts from; nil means this
	// process's environment.
	Env []string
	// Stdout and Stderr receive the program's output. When both are nil
	// the output is collected (the first 4 KiB) and logged.
	Stdout, Stderr io.Writer
	// Logger receives the collected output; nil means slog.Default().
	Logger *slog.Logger
}

func (h *ScriptHandler) command(ctx context.Context) (*exec.Cmd, string, error) {
	switch {
	case len(h.Args) > 0 && h.Script != "":
		return nil, "", errors.New("script handler: both args and a script given")
	case len(h.Args) > 0:
		return exec.CommandContext(ctx, h.Args[0], h.Args[1:]...), strings.Join(h.Args, " "), nil
	case h.Script != "":
		shell := h.Shell
		if shell == "" {
			shell = DefaultShell
		}
		return exec.CommandContext(ctx, shell, "-c", h.Script), h.Script, nil
	}
	return nil, "", errors.New("script handler: nothing to run")
}

// Handle runs the program once for u.
func (h *ScriptHandler) Handle(ctx context.Context, u Update) error {
	cmd, desc, err := h.command(ctx)
	if err != nil {
		return err
	}
	env := h.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string(nil), env...), "CONSUL_INDEX="+strconv.FormatUint(u.Index, 10))
	cmd.Stdin = bytes.NewReader(append(append([]byte(nil), u.JSON...), '\n'))
	var out *limitedBuffer
	if h.Stdout == nil && h.Stderr == nil {
		out = &limitedBuffer{max: maxLoggedOutput}
		cmd.Stdout, cmd.Stderr = out, out
	} else {
		cmd.Stdout, cmd.Stderr = h.Stdout, h.Stderr
		if cmd.Stdout == nil {
			cmd.Stdout = io.Discard
		}
		if cmd.Stderr == nil {
			cmd.Stderr = io.Discard
		}
	}
	// A handler that leaves a background process holding its output
	// open must not hold up the plan for longer than this.
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if out != nil && out.Len() > 0 {
		logger := h.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Info("watch handler output", "handler", desc, "index", u.Index, "output", out.String())
	}
	if err != nil {
		return fmt.Errorf("watch handler %q: %w", desc, err)
	}
	return nil
}

// limitedBuffer keeps the first max bytes written to it and drops the rest,
// reporting every write as complete so the program is never blocked.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// HTTPHandler sends each update's JSON to an HTTP endpoint, with
// Content-Type application/json and X-Consul-Index set to the update's
// index. A response outside 2xx is an error.
type HTTPHandler struct {
	// URL is the endpoint (Consul's "path").
	URL string
	// Method defaults to POST.
	Method string
	// Header is added to every request.
	Header http.Header
	// Timeout bounds each request; zero means DefaultHTTPTimeout.
	Timeout time.Duration
	// TLSSkipVerify accepts any certificate from an https endpoint.
	TLSSkipVerify bool

	once   sync.Once
	client *http.Client
}

func (h *HTTPHandler) httpClient() *http.Client {
	h.once.Do(func() {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		if h.TLSSkipVerify {
			transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by tls_skip_verify
		}
		timeout := h.Timeout
		if timeout <= 0 {
			timeout = DefaultHTTPTimeout
		}
		h.client = &http.Client{Transport: transport, Timeout: timeout}
	})
	return h.client
}

// Handle sends one request for u.
func (h *HTTPHandler) Handle(ctx context.Context, u Update) error {
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	body := append(append([]byte(nil), u.JSON...), '\n')
	req, err := http.NewRequestWithContext(ctx, method, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("watch HTTP handler: %w", err)
	}
	for k, vs := range h.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Consul-Index", strconv.FormatUint(u.Index, 10))
	resp, err := h.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("watch HTTP handler: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, maxLoggedOutput))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("watch HTTP handler: %s %s answered %s: %s",
			method, h.URL, resp.Status, strings.TrimSpace(string(reply)))
	}
	return nil
}
