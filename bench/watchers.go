package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FanoutConfig describes a watch fan-out: many blocking queries held open
// on one path at once, then one change that should wake them all.
type FanoutConfig struct {
	// Addr is the agent, host:port; Path what every watcher asks for,
	// e.g. "/v1/health/service/api".
	Addr, Path string
	// Watchers is the number of blocking queries, each on its own
	// keep-alive connection (HTTP/1.1 has one request in flight per
	// connection).
	Watchers int
	// Wait is each query's ?wait; long enough that none returns by
	// itself during the measurement. 5m if zero.
	Wait time.Duration
	// Dials caps the connections being set up at once, so that the
	// server's accept backlog is not overrun (SYNs dropped there are
	// retried only after a second). 256 if zero.
	Dials int
	// Pending, if set, says how many watch requests the server has not
	// read yet (e.g. UnreadTCP on its port); once every query is sent,
	// Fanout waits until it says 0 before polling for quiet.
	Pending func() (int, error)
	// Quiet is the answer time of a trivial request below which the
	// server counts as settled once every watch is in flight; it must be
	// seen QuietPolls times in a row (3 if zero).
	Quiet      time.Duration
	QuietPolls int
	// SetupTimeout bounds connecting every watcher and settling; WakeTimeout
	// how long watchers may take to answer after the change. 2m if zero.
	SetupTimeout, WakeTimeout time.Duration
	// Before, if set, runs once every watch is in flight and the server
	// has settled, just before the change: e.g. to read its memory.
	Before func()
	// After, if set, runs once every watcher has answered (or been given
	// up on), before their connections are closed: e.g. to read how much
	// CPU the wake took.
	After func()
	// Change makes the one change the watchers wait for. Its start is the
	// time every watcher's latency is measured from.
	Change func(ctx context.Context) error
	// Logf, if set, reports progress.
	Logf func(format string, args ...any)
}

// FanoutResult is what a fan-out measured. Latencies run from the moment
// the change request was sent to the moment a watcher had read its whole
// answer, and cover woken watchers only.
type FanoutResult struct {
	Watchers int    `json:"watchers"`
	Index    uint64 `json:"index"` // the X-Consul-Index watched
	// InFlight is how many queries had been sent when the change was made;
	// Early how many came back before it (a change nobody asked for, or a
	// server giving up on them), Woken how many came back after it with
	// a newer index, Errors how many failed (including those still open
	// at WakeTimeout).
	InFlight   int    `json:"in_flight"`
	Early      int    `json:"early"`
	Woken      int    `json:"woken"`
	Errors     int    `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
	// Connect is how long sending every query took, Settle how long the
	// server then took to answer trivial requests quickly again; Settled
	// says whether it did before SetupTimeout.
	Connect time.Duration `json:"connect_ns"`
	Settle  time.Duration `json:"settle_ns"`
	Settled bool          `json:"settled"`
	// Pending is what cfg.Pending last said before the change, -1 if it
	// was not asked.
	Pending int `json:"pending"`
	// ChangeTook is the change request's own round trip.
	ChangeTook time.Duration `json:"change_took_ns"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"` // the last woken watcher
}

// watcherOutcome is one watcher's end, written by its goroutine only.
type watcherOutcome struct {
	at  time.Time // when the whole answer was read
	err error
}

// Fanout runs a watch fan-out: it reads cfg.Path's X-Consul-Index N,
// opens cfg.Watchers blocking queries ?index=N&wait=cfg.Wait over as many
// connections of one shared transport, waits until each has been sent (as
// the client sees it) and, with cfg.Pending, read by the server, then polls
// the server with trivial requests until it answers them quickly (no
// backlog left), runs cfg.Before, makes cfg.Change and times
// every watcher's answer from the change's start. It returns an error only
// when it cannot start (no index to watch, no Change); what goes wrong
// with watchers is counted in the result.
func Fanout(ctx context.Context, cfg FanoutConfig) (FanoutResult, error) {
	res := FanoutResult{Watchers: cfg.Watchers}
	if cfg.Change == nil || cfg.Watchers < 1 {
		return res, errors.New("fanout: needs Change and at least one watcher")
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 5 * time.Minute
	}
	if cfg.Dials <= 0 {
		cfg.Dials = 256
	}
	if cfg.QuietPolls <= 0 {
		cfg.QuietPolls = 3
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = 2 * time.Minute
	}
	if cfg.WakeTimeout <= 0 {
		cfg.WakeTimeout = 2 * time.Minute
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}

	probe := NewConsulHTTP(cfg.Addr)
	defer probe.Close()
	resp, _, err := probe.do(ctx, http.MethodGet, cfg.Path, nil)
	if err != nil {
		return res, fmt.Errorf("fanout: reading the index to watch: %w", err)
	}
	if res.Index, err = consulIndex(resp); err != nil {
		return res, fmt.Errorf("fanout: %w", err)
	}
	// The quiet threshold defaults to a few times what a trivial request
	// takes now, before the watchers load the server.
	if cfg.Quiet <= 0 {
		if cfg.Quiet, err = quietThreshold(ctx, probe); err != nil {
			return res, fmt.Errorf("fanout: %w", err)
		}
	}

	transport := watcherTransport(cfg.Watchers, cfg.Dials)
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	url := "http://" + cfg.Addr + cfg.Path + "?index=" + strconv.FormatUint(res.Index, 10) + "&wait=" + cfg.Wait.String()
	var (
		sent, finished atomic.Int64
		wg             sync.WaitGroup
	)
	outcomes := make([]watcherOutcome, cfg.Watchers)
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Add(1)
		}
	}}
	start := time.Now()
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer finished.Add(1)
			out := &outcomes[i]
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(wctx, trace), http.MethodGet, url, nil)
			if err != nil {
				out.err = err
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				out.err = err
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out.at = time.Now()
			switch {
			case err != nil:
				out.err = err
			case resp.StatusCode != http.StatusOK:
				out.err = fmt.Errorf("watch: HTTP %d", resp.StatusCode)
			default:
				if idx, err := consulIndex(resp); err != nil {
					out.err = err
				} else if idx <= res.Index {
					out.err = fmt.Errorf("watch answered with index %d, not past %d", idx, res.Index)
				}
			}
		}()
	}

	// Every query sent, or failed.
	deadline := time.Now().Add(cfg.SetupTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastLog := time.Now()
	for sent.Load()+finished.Load() < int64(cfg.Watchers) {
		if time.Now().After(deadline) {
			break
		}
		if time.Since(lastLog) >= 2*time.Second {
			logf("%d of %d watches sent", sent.Load(), cfg.Watchers)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return res, ctx.Err()
		case <-tick.C:
		}
	}
	res.Connect = time.Since(start)
	logf("%d of %d watches sent in %v (%d ended already); waiting for the server to settle",
		sent.Load(), cfg.Watchers, res.Connect.Round(time.Millisecond), finished.Load())

	// The server has parsed and parked them once it has read every
	// request and answers trivial ones quickly again.
	settleStart := time.Now()
	res.Pending = -1
	if cfg.Pending != nil {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n, err := cfg.Pending()
			if err != nil {
				logf("cannot tell whether the server read every watch: %v", err)
				break
			}
			res.Pending = n
			if n == 0 {
				break
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}
	quiet := 0
	for quiet < cfg.QuietPolls && time.Now().Before(deadline) && ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
		d, err := probe.Ping(pctx)
		pcancel()
		if err == nil && d <= cfg.Quiet {
			quiet++
		} else {
			quiet = 0
		}
	}
	res.Settle, res.Settled = time.Since(settleStart), quiet >= cfg.QuietPolls && res.Pending <= 0
	if ctx.Err() != nil {
		cancel()
		wg.Wait()
		return res, ctx.Err()
	}

	if cfg.Before != nil {
		cfg.Before()
	}
	res.InFlight = int(sent.Load() - finished.Load())
	changeAt := time.Now()
	err = cfg.Change(ctx)
	res.ChangeTook = time.Since(changeAt)
	if err != nil {
		cancel()
		wg.Wait()
		return res, fmt.Errorf("fanout: the change failed: %w", err)
	}

	// Every watcher back, or the wake timeout.
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(cfg.WakeTimeout):
		logf("%d of %d watchers still open after %v; giving up on them", int64(cfg.Watchers)-finished.Load(), cfg.Watchers, cfg.WakeTimeout)
		cancel()
		<-all
	case <-ctx.Done():
		cancel()
		<-all
		return res, ctx.Err()
	}
	if cfg.After != nil {
		cfg.After()
	}

	h := NewHistogram()
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = o.err.Error()
			}
		case o.at.Before(changeAt):
			res.Early++
		default:
			res.Woken++
			h.Record(o.at.Sub(changeAt))
		}
	}
	res.P50, res.P90, res.P99, res.Max = h.Quantile(0.50), h.Quantile(0.90), h.Quantile(0.99), h.Max()
	return res, nil
}

// watcherTransport is the HTTP transport of a fan-out: one connection per
// watcher, kept open, and at most dials connections being set up at once,
// so that thousands of watchers do not overrun the server's accept queue.
func watcherTransport(watchers, dials int) *http.Transport {
	dialSlots := make(chan struct{}, dials)
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			select {
			case dialSlots <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			defer func() { <-dialSlots }()
			return dialer.DialContext(ctx, network, addr)
		},
		MaxConnsPerHost:     watchers + 1,
		MaxIdleConns:        watchers + 1,
		MaxIdleConnsPerHost: watchers + 1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
}
