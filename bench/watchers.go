package bench

import (
	"context"
	"net"
	"net/http"
	"time"
)

// FanoutConfig describes a watch fan-out: many blocking queries held open
// on one path at once, then one change that should wake them all.
type FanoutConfig struct {
	// Addr is the agent, host:port; Path what every watcher asks for,
	// e.g. "/v1/health/service/api".
	Addr, Path string
	// Addrs, if set, are agents the watchers are spread over in turn
	// (Addr still takes the quiet probes): client agents, say, each
	// answering from its own copy. The index watched is the one every
	// agent answers once they agree.
	Addrs []string
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
// with watchers is counted in the result. It is FanoutQuery on a path
// without query parameters of its own.
func Fanout(ctx context.Context, cfg FanoutConfig) (FanoutResult, error) {
	return FanoutQuery(ctx, cfg, "")
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
		DisableCompression:  !AcceptGzip,
	}
}
