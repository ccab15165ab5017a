package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// NATSFanoutConfig describes a fan-out over NATS: many core subscriptions
// on one subject, spread over a few connections, then one change whose
// event should reach them all.
type NATSFanoutConfig struct {
	// URL is the NATS server, Subject what every subscriber subscribes
	// to (wildcards allowed, e.g. "herald.dc1.kv.bench.watch.>").
	URL, Subject string
	// Subscribers is the number of subscriptions, spread evenly over
	// Conns connections (100 if zero, never more than Subscribers).
	Subscribers, Conns int
	// Check, if set, validates the message that reached a subscriber
	// first; an error counts the subscriber as failed. It runs once every
	// subscriber was reached (or given up on), one message after the
	// other, so that checking does not take CPU time from the receipts
	// being measured.
	Check func(*nats.Msg) error
	// Addr, if set, is the HTTP API of the server behind URL: once every
	// subscription is registered, it is pinged until it answers within
	// Quiet QuietPolls times in a row (as FanoutConfig's).
	Addr       string
	Quiet      time.Duration
	QuietPolls int
	// SetupTimeout bounds connecting and subscribing, WakeTimeout how long
	// subscribers may take to receive after the change. 2m if zero.
	SetupTimeout, WakeTimeout time.Duration
	// Before, After, Change and Logf are as FanoutConfig's: Before runs
	// once every subscription is registered, just before the change;
	// After once every subscriber has received (or been given up on),
	// before the connections are closed; Change makes the change, and its
	// start is the time every receipt is measured from.
	Before, After func()
	Change        func(ctx context.Context) error
	Logf          func(format string, args ...any)
}

// NATSFanout runs a fan-out over NATS: it opens cfg.Conns connections to
// cfg.URL, subscribes cfg.Subscribers times to cfg.Subject over them
// (round robin), flushes every connection so that the server has
// registered every subscription, optionally waits for the server's HTTP
// API to answer quickly, runs cfg.Before, makes cfg.Change and times every
// subscriber from the change's start to the moment its callback received
// the first message. In the result, Connect is how long connecting and
// subscribing took, InFlight how many subscribers were waiting when the
// change was made, Early how many had a message before it; Index is left
// to the caller. It returns an error only when it cannot start (no
// connection, a subscription refused, no Change).
func NATSFanout(ctx context.Context, cfg NATSFanoutConfig) (FanoutResult, error) {
	res := FanoutResult{Watchers: cfg.Subscribers, Pending: -1}
	if cfg.Change == nil || cfg.Subscribers < 1 {
		return res, errors.New("nats fanout: needs Change and at least one subscriber")
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 100
	}
	cfg.Conns = min(cfg.Conns, cfg.Subscribers)
	d := fanoutDefaults(FanoutConfig{QuietPolls: cfg.QuietPolls, SetupTimeout: cfg.SetupTimeout, WakeTimeout: cfg.WakeTimeout, Logf: cfg.Logf})
	logf := d.Logf

	book := newFanoutBook(cfg.Subscribers)
	var (
		mu       sync.Mutex
		conns    []*nats.Conn
		asyncErr atomic.Pointer[string] // the first error a connection reported on its own
	)
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	setupCtx, cancelSetup := context.WithTimeout(ctx, d.SetupTimeout)
	defer cancelSetup()
	start := time.Now()
	errs := make(chan error, cfg.Conns)
	var wg sync.WaitGroup
	for c := range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := nats.Connect(cfg.URL,
				nats.Name(fmt.Sprintf("fanout-%d", c)),
				nats.Timeout(10*time.Second),
				nats.NoReconnect(),
				nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
					msg := err.Error()
					asyncErr.CompareAndSwap(nil, &msg)
				}))
			if err != nil {
				errs <- fmt.Errorf("nats fanout: connection %d: %w", c, err)
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			subs := 0
			for i := c; i < cfg.Subscribers; i += cfg.Conns {
				subs++
				_, err := nc.Subscribe(cfg.Subject, func(m *nats.Msg) {
					at := time.Now()
					if !book.ended[i].Load() { // else not the first message
						book.endWith(i, at, nil, m)
					}
				})
				if err != nil {
					errs <- fmt.Errorf("nats fanout: subscription %d: %w", i, err)
					return
				}
			}
			// The server has every subscription of this connection once
			// it answered the PING that follows them.
			if err := nc.FlushWithContext(setupCtx); err != nil {
				errs <- fmt.Errorf("nats fanout: flushing connection %d: %w", c, err)
				return
			}
			book.armed.Add(int64(subs))
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.Connect = time.Since(start)
	logf("%d subscriptions on %s over %d connections in %v (%d received something already)",
		book.armed.Load(), cfg.Subject, cfg.Conns, res.Connect.Round(time.Millisecond), book.finished.Load())

	if cfg.Addr != "" {
		probe := NewConsulHTTP(cfg.Addr)
		defer probe.Close()
		quiet := cfg.Quiet
		if quiet <= 0 {
			var err error
			if quiet, err = quietThreshold(ctx, probe); err != nil {
				return res, fmt.Errorf("nats fanout: %w", err)
			}
		}
		settleServer(ctx, probe, nil, quiet, d.QuietPolls, time.Now().Add(d.SetupTimeout), &res, logf)
		res.Pending = -1
	} else {
		res.Settled = true
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}

	if cfg.Before != nil {
		cfg.Before()
	}
	res.InFlight = int(book.armed.Load() - book.finished.Load())
	changeAt := time.Now()
	err := cfg.Change(ctx)
	res.ChangeTook = time.Since(changeAt)
	if err != nil {
		return res, fmt.Errorf("nats fanout: the change failed: %w", err)
	}
	all, err := book.waitEnded(ctx, d.WakeTimeout)
	if err != nil {
		return res, err
	}
	if !all {
		logf("%d of %d subscribers received nothing within %v; giving up on them",
			int64(cfg.Subscribers)-book.finished.Load(), cfg.Subscribers, d.WakeTimeout)
		giveUp := errNoAnswer
		if p := asyncErr.Load(); p != nil {
			giveUp = fmt.Errorf("%w (a connection reported: %s)", errNoAnswer, *p)
		}
		book.endAll(giveUp)
	}
	if cfg.After != nil {
		cfg.After()
	}
	if cfg.Check != nil {
		for i, o := range book.outcomes {
			if m, ok := book.data[i].(*nats.Msg); ok && o.err == nil {
				book.outcomes[i].err = cfg.Check(m)
			}
		}
	}
	book.summarize(&res, changeAt)
	return res, nil
}
