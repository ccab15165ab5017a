package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"sync"
	"time"
)

// FanoutQuery runs a watch fan-out like Fanout, on a path that takes query
// parameters of its own: every watcher asks
// cfg.Path?query&index=N&wait=cfg.Wait, e.g. Path "/v1/kv/bench/watch/"
// and query "recurse" for a key-prefix watch; with query empty it asks
// what Fanout asks. N is the X-Consul-Index of GET cfg.Path?query, which
// must answer 200 (so a prefix watch needs a key under the prefix).
//
// As in Fanout, each watcher has its own connection from one shared
// transport (at most cfg.Dials being set up at once); once every query is
// sent, and with cfg.Pending read by the server, the server is polled until
// it answers trivial requests quickly, then cfg.Before runs, cfg.Change
// makes the change, and every watcher is timed from the change's start to
// reading its whole answer, which must be 200 with a newer index.
func FanoutQuery(ctx context.Context, cfg FanoutConfig, query string) (FanoutResult, error) {
	res := FanoutResult{Watchers: cfg.Watchers}
	if cfg.Change == nil || cfg.Watchers < 1 {
		return res, errors.New("fanout: needs Change and at least one watcher")
	}
	cfg = fanoutDefaults(cfg)
	logf := cfg.Logf

	probe := NewConsulHTTP(cfg.Addr)
	defer probe.Close()
	target := cfg.Path
	if query != "" {
		target += "?" + query
	}
	addrs := cfg.Addrs
	if len(addrs) == 0 {
		addrs = []string{cfg.Addr}
	}
	var err error
	if res.Index, err = agreedIndex(ctx, addrs, target, cfg.SetupTimeout); err != nil {
		return res, err
	}
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
	sep := "?"
	if query != "" {
		sep = "&"
	}
	urls := make([]string, len(addrs))
	for i, a := range addrs {
		urls[i] = "http://" + a + target + sep + "index=" + strconv.FormatUint(res.Index, 10) + "&wait=" + cfg.Wait.String()
	}
	book := newFanoutBook(cfg.Watchers)
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			book.armed.Add(1)
		}
	}}
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.Watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at, err := watchOnce(httptrace.WithClientTrace(wctx, trace), client, urls[i%len(urls)], res.Index)
			book.end(i, at, err)
		}()
	}
	// stop gives up on every watcher still open and waits for them.
	stop := func() {
		cancel()
		wg.Wait()
	}

	deadline := time.Now().Add(cfg.SetupTimeout)
	if err := book.waitArmed(ctx, deadline, "watches sent", logf); err != nil {
		stop()
		return res, err
	}
	res.Connect = time.Since(start)
	logf("%d of %d watches sent in %v (%d ended already); waiting for the server to settle",
		book.armed.Load(), cfg.Watchers, res.Connect.Round(time.Millisecond), book.finished.Load())

	settleServer(ctx, probe, cfg.Pending, cfg.Quiet, cfg.QuietPolls, deadline, &res, logf)
	if ctx.Err() != nil {
		stop()
		return res, ctx.Err()
	}

	if cfg.Before != nil {
		cfg.Before()
	}
	res.InFlight = int(book.armed.Load() - book.finished.Load())
	changeAt := time.Now()
	err = cfg.Change(ctx)
	res.ChangeTook = time.Since(changeAt)
	if err != nil {
		stop()
		return res, fmt.Errorf("fanout: the change failed: %w", err)
	}

	all, err := book.waitEnded(ctx, cfg.WakeTimeout)
	if err != nil {
		stop()
		return res, err
	}
	if !all {
		logf("%d of %d watchers still open after %v; giving up on them",
			int64(cfg.Watchers)-book.finished.Load(), cfg.Watchers, cfg.WakeTimeout)
	}
	stop() // every watcher has ended, or is cancelled now and ends with an error
	if cfg.After != nil {
		cfg.After()
	}
	book.summarize(&res, changeAt)
	return res, nil
}

// agreedIndex is the X-Consul-Index every agent answers for target. With
// several agents it asks until they all answer and agree (an agent's own
// copy may lag the others by a moment, or not have the key yet), within
// timeout: watchers of different agents must wait for the same change.
// One agent is asked once.
func agreedIndex(ctx context.Context, addrs []string, target string, timeout time.Duration) (uint64, error) {
	deadline := time.Now().Add(timeout)
	for {
		var seen []uint64
		var lastErr error
		for _, a := range addrs {
			probe := NewConsulHTTP(a)
			resp, _, err := probe.do(ctx, http.MethodGet, target, nil)
			probe.Close()
			var idx uint64
			if err == nil {
				idx, err = consulIndex(resp)
			}
			if err != nil {
				lastErr = fmt.Errorf("reading the index to watch at %s: %w", a, err)
				break
			}
			seen = append(seen, idx)
		}
		if lastErr == nil && slices.Min(seen) == slices.Max(seen) {
			return seen[0], nil
		}
		if len(addrs) == 1 || time.Now().After(deadline) {
			if lastErr != nil {
				return 0, fmt.Errorf("fanout: %w", lastErr)
			}
			return 0, fmt.Errorf("fanout: the agents do not agree on the index to watch: %v", seen)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// fanoutDefaults fills the zero fields of cfg that both fan-outs share.
func fanoutDefaults(cfg FanoutConfig) FanoutConfig {
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
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return cfg
}

// watchOnce sends one blocking query and reads its whole answer, which
// must be 200 with an X-Consul-Index past index. It returns when the
// answer was read.
func watchOnce(ctx context.Context, client *http.Client, url string, index uint64) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	at := time.Now()
	switch {
	case err != nil:
		return at, err
	case resp.StatusCode != http.StatusOK:
		return at, fmt.Errorf("watch: HTTP %d", resp.StatusCode)
	}
	idx, err := consulIndex(resp)
	if err != nil {
		return at, err
	}
	if idx <= index {
		return at, fmt.Errorf("watch answered with index %d, not past %d", idx, index)
	}
	return at, nil
}
