package wan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"time"

	"github.com/miekg/dns"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/event"
)

// SubjectHTTP and SubjectDNS are the subjects dc's servers answer
// requests for their datacenter on, in the queue group QueueGroup.
func SubjectHTTP(dc string) string { return "herald." + dc + ".rpc.http" }
func SubjectDNS(dc string) string  { return "herald." + dc + ".rpc.dns" }

// QueueGroup is the servers' queue group on the gateways.
const QueueGroup = "herald-servers"

// HTTPRequest is an HTTP request for another datacenter. The headers
// travel as they are, the ACL token among them: each datacenter judges
// the request with its own ACL state.
type HTTPRequest struct {
	// Datacenter is the datacenter the request is for; it matters on the
	// relay from a client agent to its servers (RelaySubject).
	Datacenter string
	Method     string
	// URL is the path and query, as in the request line.
	URL    string
	Header http.Header `json:",omitempty"`
	Body   []byte      `json:",omitempty"`
	// RemoteAddr is the client's address, as the first agent saw it.
	RemoteAddr string `json:",omitempty"`
	// Timeout is how long the sender waits for the answer, so that the
	// answering server gives up when nobody is left to read it.
	Timeout time.Duration `json:",omitempty"`
	// Query, on a prepared query's failover, is the definition the
	// datacenter is to execute (httpapi.WithQueryDefinition).
	Query *event.PreparedQuery `json:",omitempty"`
}

// HTTPResponse is the answer: the status, headers and body the
// datacenter's API answered with.
type HTTPResponse struct {
	Status int
	Header http.Header `json:",omitempty"`
	Body   []byte      `json:",omitempty"`
}

// DNSRequest is a DNS query for another datacenter, packed; DNSResponse
// its answer, packed, or why there is none.
type DNSRequest struct {
	Datacenter string
	Msg        []byte
	TCP        bool `json:",omitempty"`
	// Query, on a prepared query's failover, is the definition every
	// query name executes.
	Query *event.PreparedQuery `json:",omitempty"`
}

type DNSResponse struct {
	Msg   []byte `json:",omitempty"`
	Error string `json:",omitempty"`
}

// NoPath is Consul's answer for a datacenter it cannot reach.
const NoPath = "No path to datacenter"

// ErrNoPath is returned when no server of the datacenter can be reached.
var ErrNoPath = errors.New(NoPath)

// Failure is an HTTPResponse saying why a request could not be forwarded,
// as Consul says it: a 500 with the message as text.
func Failure(msg string) *HTTPResponse {
	return &HTTPResponse{Status: http.StatusInternalServerError,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(msg + "\n")}
}

// NewHTTPRequest captures r (its body read whole) for dc; the timeout
// covers a blocking query's wait.
func NewHTTPRequest(r *http.Request, dc string) (*HTTPRequest, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxPayload))
		if err != nil {
			return nil, err
		}
		body = b
	}
	return &HTTPRequest{Datacenter: dc, Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(),
		Body: body, RemoteAddr: r.RemoteAddr, Timeout: Timeout(r.URL.Query())}, nil
}

// requestTimeout bounds a request that is not a blocking query: a write
// may wait for its datacenter's leader, a snapshot takes its time.
const requestTimeout = 30 * time.Second

// Timeout is how long to wait for another datacenter's answer to a
// request with query q: a blocking query's wait (Consul's 5 minutes by
// default, 10 at most) plus its jitter and a margin, else requestTimeout.
func Timeout(q url.Values) time.Duration {
	if q.Get("index") == "" {
		return requestTimeout
	}
	wait := 5 * time.Minute
	if d, err := time.ParseDuration(q.Get("wait")); err == nil && d >= 0 {
		wait = min(d, 10*time.Minute)
	}
	return wait + wait/16 + 5*time.Second
}

// Send sends req on conn to subject and waits for the HTTPResponse. A
// subject nobody answers is ErrNoPath at once.
func Send(ctx context.Context, conn *nats.Conn, subject string, req *HTTPRequest) (*HTTPResponse, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	msg, err := conn.RequestWithContext(ctx, subject, data)
	if err != nil {
		return nil, requestError(err)
	}
	var resp HTTPResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("wan: undecodable answer: %w", err)
	}
	return &resp, nil
}

func requestError(err error) error {
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionReconnecting):
		return ErrNoPath
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("timed out waiting for the datacenter's answer: %w", err)
	}
	return err
}

// Write writes resp to w.
func (resp *HTTPResponse) Write(w http.ResponseWriter) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// Replay answers req with handler, in this process, as if it had come
// to this server's HTTP API.
func Replay(ctx context.Context, handler http.Handler, req *HTTPRequest) *HTTPResponse {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return &HTTPResponse{Status: http.StatusBadRequest, Body: []byte(err.Error() + "\n")}
	}
	r.Header = req.Header
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.RemoteAddr = req.RemoteAddr
	r.RequestURI = req.URL
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	resp := &HTTPResponse{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if len(resp.Body) > maxPayload-64<<10 {
		return Failure("the answer is too large to carry between datacenters")
	}
	return resp
}

// ServeHTTP answers the requests for dc on conn with handler until the
// returned function is called.
func ServeHTTP(conn *nats.Conn, subject string, handler func(*HTTPRequest) *HTTPResponse, logger *slog.Logger) (func(), error) {
	return serve(conn, subject, logger, func(data []byte) any {
		var req HTTPRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return &HTTPResponse{Status: http.StatusBadRequest, Body: []byte("undecodable request\n")}
		}
		return handler(&req)
	})
}

// ServeDNS answers the DNS queries for dc on conn with answer.
func ServeDNS(conn *nats.Conn, subject string, answer func(*DNSRequest) *DNSResponse, logger *slog.Logger) (func(), error) {
	return serve(conn, subject, logger, func(data []byte) any {
		var req DNSRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return &DNSResponse{Error: "undecodable request"}
		}
		return answer(&req)
	})
}

func serve(conn *nats.Conn, subject string, logger *slog.Logger, handle func([]byte) any) (func(), error) {
	if logger == nil {
		logger = slog.Default()
	}
	sub, err := conn.QueueSubscribe(subject, QueueGroup, func(m *nats.Msg) {
		// Requests are served side by side: a blocking query must not
		// hold up the others.
		go func() {
			b, err := json.Marshal(handle(m.Data))
			if err == nil {
				err = m.Respond(b)
			}
			if err != nil {
				logger.Warn("wan: cannot answer a request", "subject", subject, "error", err)
			}
		}()
	})
	if err != nil {
		return nil, fmt.Errorf("wan: subscribe %s: %w", subject, err)
	}
	return func() { sub.Unsubscribe() }, conn.Flush()
}

// dnsTimeout bounds a DNS query to another datacenter: resolvers retry
// after a few seconds anyway.
const dnsTimeout = 3 * time.Second

// SendDNS sends a DNS query on conn to subject and returns the answer.
func SendDNS(ctx context.Context, conn *nats.Conn, subject string, req *DNSRequest) (*dns.Msg, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	msg, err := conn.RequestWithContext(ctx, subject, data)
	if err != nil {
		return nil, requestError(err)
	}
	var resp DNSResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("wan: undecodable answer: %w", err)
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	m := new(dns.Msg)
	if err := m.Unpack(resp.Msg); err != nil {
		return nil, fmt.Errorf("wan: undecodable DNS answer: %w", err)
	}
	return m, nil
}
