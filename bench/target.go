package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Target is a key/value store under test. Implementations must be safe for
// concurrent use by Run's clients.
type Target interface {
	// Put stores value under key and returns once the store acknowledged it.
	Put(ctx context.Context, key string, value []byte) error
	// Get reads key, returning ErrNotFound if it has no value.
	Get(ctx context.Context, key string) error
}

// ErrNotFound is returned by Get for a key that has no value. Run counts it
// as an error: a benchmark reads only keys it preloaded, so a miss means the
// store lost or never stored a write.
var ErrNotFound = errors.New("bench: key not found")

// AcceptGzip makes the benches' HTTP clients ask for gzipped answers, as
// Go's HTTP client does unless told not to, and so the official Consul
// client and consul-template: Consul gzips every answer to such a client,
// Herald its large read answers. Off, the answers travel uncompressed.
var AcceptGzip = true

// newClient returns an HTTP client tuned for a fixed number of concurrent
// callers: every caller keeps its own keep-alive connection idle between
// requests instead of dialling a new one, which would measure the loopback
// handshake rather than the server.
func newClient(concurrency int) *http.Client {
	concurrency = max(concurrency, 1)
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil, // never route loopback benchmarks through $HTTP_PROXY
			DialContext: (&net.Dialer{
				Timeout:   5 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  !AcceptGzip,
			ForceAttemptHTTP2:   false,
		},
		// A stalled server should show as errors, not hang the run.
		Timeout: 30 * time.Second,
	}
}

// drain reads a response body to its end and closes it, so the connection
// goes back to the idle pool; it returns up to limit bytes of the body.
func drain(body io.ReadCloser, limit int) ([]byte, error) {
	defer body.Close()
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, body, int64(limit)); err != nil && err != io.EOF {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// setToken sends an ACL token the way Consul's clients do.
func setToken(req *http.Request, token string) {
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
}

// statusError describes an unexpected HTTP status with the start of the body.
func statusError(op string, code int, body []byte) error {
	return fmt.Errorf("%s: HTTP %d: %s", op, code, strings.TrimSpace(string(body)))
}

// ConsulKV is a Target speaking Consul's KV HTTP API, as Herald serves it:
// PUT /v1/kv/<key> with the raw value as body answers true, GET /v1/kv/<key>
// answers a JSON array of KVPair or 404.
type ConsulKV struct {
	base   string // "http://host:port/v1/kv/"
	client *http.Client
	// Token, when set, is sent as X-Consul-Token with every request.
	Token string
}

// NewConsulKV returns a ConsulKV for the agent at addr (host:port) with
// connections pooled for concurrency callers.
func NewConsulKV(addr string, concurrency int) *ConsulKV {
	return &ConsulKV{base: "http://" + addr + "/v1/kv/", client: newClient(concurrency)}
}

// Put implements Target.
func (c *ConsulKV) Put(ctx context.Context, key string, value []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+key, bytes.NewReader(value))
	if err != nil {
		return err
	}
	setToken(req, c.Token)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	body, err := drain(resp.Body, 512)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return statusError("consul put", resp.StatusCode, body)
	}
	// A plain PUT always answers true; false would mean the write was not
	// applied, which must not count as a successful operation.
	if !bytes.Equal(bytes.TrimSpace(body), []byte("true")) {
		return fmt.Errorf("consul put: answer %q, want true", body)
	}
	return nil
}

// Get implements Target. It checks the status only: decoding the JSON is
// client work that would blur the server comparison.
func (c *ConsulKV) Get(ctx context.Context, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+key, nil)
	if err != nil {
		return err
	}
	setToken(req, c.Token)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	body, err := drain(resp.Body, 512)
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return ErrNotFound
	default:
		return statusError("consul get", resp.StatusCode, body)
	}
}

// Close releases idle connections.
func (c *ConsulKV) Close() { c.client.CloseIdleConnections() }
