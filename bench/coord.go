package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// This file speaks the coordination side of Consul's HTTP API: sessions
// and the locks they hold on KV keys (?acquire / ?release), as the
// official client's Lock helper uses them.

// sessionBody is what every session is created with: named, no lock delay
// (so that a released lock can be taken again at once, which is what a
// throughput measurement wants; Consul's default is 15s), released locks
// on invalidation (Consul's default behaviour).
func sessionBody(name string) []byte {
	b, _ := json.Marshal(struct{ Name, LockDelay, Behavior string }{name, "0s", "release"})
	return b
}

// sessionClient is one client's connection to the agent for sessions and
// locks: one keep-alive connection, one request at a time.
type sessionClient struct {
	base   string // "http://host:port"
	client *http.Client
}

func newSessionClient(addr string) *sessionClient {
	return &sessionClient{base: "http://" + addr, client: newClient(1)}
}

func (c *sessionClient) close() { c.client.CloseIdleConnections() }

// call sends one request and returns the answer's status, body (up to
// 64 kB) and X-Consul-Index (0 when absent).
func (c *sessionClient) call(ctx context.Context, method, path string, body []byte) (int, []byte, uint64, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	out, err := drain(resp.Body, 64<<10)
	if err != nil {
		return 0, nil, 0, err
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	return resp.StatusCode, out, idx, nil
}

// boolCall sends a request answered with a JSON true or false.
func (c *sessionClient) boolCall(ctx context.Context, method, path string, body []byte) (bool, error) {
	code, out, _, err := c.call(ctx, method, path, body)
	if err != nil {
		return false, err
	}
	if code != http.StatusOK {
		return false, statusError(method+" "+path, code, out[:min(len(out), 512)])
	}
	switch string(bytes.TrimSpace(out)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s %s: answer %q, want true or false", method, path, out)
}

// createSession creates a session named name (see sessionBody) and
// returns its ID.
func (c *sessionClient) createSession(ctx context.Context, name string) (string, error) {
	code, out, _, err := c.call(ctx, http.MethodPut, "/v1/session/create", sessionBody(name))
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", statusError("session create", code, out[:min(len(out), 512)])
	}
	var s struct{ ID string }
	if err := json.Unmarshal(out, &s); err != nil || s.ID == "" {
		return "", fmt.Errorf("session create: answer %q: want {\"ID\": ...}", out)
	}
	return s.ID, nil
}

// destroySession destroys session id, which must answer true.
func (c *sessionClient) destroySession(ctx context.Context, id string) error {
	ok, err := c.boolCall(ctx, http.MethodPut, "/v1/session/destroy/"+id, nil)
	if err == nil && !ok {
		err = fmt.Errorf("session destroy %s: answer false", id)
	}
	return err
}

// lockHolder reads key and returns the session holding it ("" if none or
// no key) and the X-Consul-Index, blocking while that is still index when
// index is not 0 (for at most wait).
func (c *sessionClient) lockHolder(ctx context.Context, key string, index uint64, wait time.Duration) (string, uint64, error) {
	path := "/v1/kv/" + key
	if index > 0 {
		path += "?index=" + strconv.FormatUint(index, 10) + "&wait=" + wait.String()
	}
	code, out, idx, err := c.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", 0, err
	}
	switch code {
	case http.StatusNotFound:
		return "", idx, nil
	case http.StatusOK:
	default:
		return "", 0, statusError("GET "+path, code, out[:min(len(out), 512)])
	}
	var entries []struct{ Session string }
	if err := json.Unmarshal(out, &entries); err != nil || len(entries) != 1 {
		return "", 0, fmt.Errorf("GET %s: answer %q: want one entry", path, out)
	}
	if idx == 0 {
		return "", 0, fmt.Errorf("GET %s: no X-Consul-Index", path)
	}
	return entries[0].Session, idx, nil
}

// SessionWorkload returns a Workload creating a session on the agent at
// addr (PUT /v1/session/create, see sessionBody) and destroying it (PUT
// /v1/session/destroy/<id>, which must answer true): one operation is
// both. Each client keeps one keep-alive connection.
func SessionWorkload(addr string, concurrency int, duration time.Duration) Workload {
	return Workload{
		Name:        "session",
		Concurrency: concurrency,
		Duration:    duration,
		NewClient: func(int) (func(context.Context, int) error, func(), error) {
			c := newSessionClient(addr)
			op := func(ctx context.Context, _ int) error {
				id, err := c.createSession(ctx, "bench-session")
				if err != nil {
					return err
				}
				return c.destroySession(ctx, id)
			}
			return op, c.close, nil
		},
	}
}

// LockConfig describes a lock contention run.
type LockConfig struct {
	// Addr is the agent, host:port; Key the lock's key ("bench/lock" if
	// empty).
	Addr, Key string
	// Contenders is the number of clients, each with its own session and
	// connection, taking the lock in turn; 16 if zero.
	Contenders int
	// Duration is how long they contend.
	Duration time.Duration
	// Cycles, when set, ends the run as soon as the contenders have
	// completed that many cycles between them, if Duration has not ended
	// it first: a test asks for a number of hand-overs, which a busy
	// machine takes longer to reach.
	Cycles uint64
	// Wait is the ?wait of the blocking reads a contender makes while
	// the lock is held by another; 10s if zero.
	Wait time.Duration
	// Verify has every contender read the key right after acquiring it
	// and check that it names its own session.
	Verify bool
}

// LockResult is what a lock run measured. Result's operations are
// completed cycles (acquired, then released); its latencies run from a
// contender starting to ask for the lock to its acquisition answering true.
type LockResult struct {
	Result
	Contenders int `json:"contenders"`
	// Attempts is how many acquisitions were asked for, Refused how many
	// of them answered false; Waits how many blocking reads returned.
	Attempts uint64 `json:"acquire_attempts"`
	Refused  uint64 `json:"acquire_refused"`
	Waits    uint64 `json:"blocking_waits"`
	// Overlaps counts acquisitions answered true while another contender
	// of this process still held the lock (it had not yet sent its
	// release): each is two holders at once.
	Overlaps uint64 `json:"overlaps"`
	// Verified is how many reads after acquiring (LockConfig.Verify) were
	// made; Mismatches how many of them named another session, or none.
	Verified   uint64 `json:"verified"`
	Mismatches uint64 `json:"mismatches"`
	// MinCycles and MaxCycles are the fewest and most cycles one
	// contender completed: how fair the hand-over was.
	MinCycles uint64 `json:"min_cycles_per_contender"`
	MaxCycles uint64 `json:"max_cycles_per_contender"`
}

// RunLocks has cfg.Contenders clients, each with a session of its own
// (created first, destroyed at the end), take the lock on cfg.Key in turn
// for cfg.Duration, as the official client's Lock helper does: ask with
// PUT ?acquire=<session>; when that answers false, read the key and, while
// another session holds it, wait for it to change with blocking reads
// (?index=), then ask again; once holding, release with PUT
// ?release=<session>, which must answer true, and start over. The holders
// are counted in this process to catch two holding at once. Errors are
// counted, not returned, except for sessions that cannot be created.
func RunLocks(ctx context.Context, cfg LockConfig) (LockResult, error) {
	if cfg.Key == "" {
		cfg.Key = "bench/lock"
	}
	if cfg.Contenders <= 0 {
		cfg.Contenders = 16
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	res := LockResult{Contenders: cfg.Contenders}
	res.Op, res.Concurrency = "lock", cfg.Contenders

	type contender struct {
		c       *sessionClient
		session string
		hist    *Histogram
		cycles  uint64
	}
	cs := make([]*contender, cfg.Contenders)
	defer func() {
		// Destroying the sessions releases whatever they still hold.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, x := range cs {
			if x == nil {
				continue
			}
			if x.session != "" {
				_ = x.c.destroySession(dctx, x.session)
			}
			x.c.close()
		}
	}()
	for i := range cs {
		x := &contender{c: newSessionClient(cfg.Addr), hist: NewHistogram()}
		cs[i] = x
		id, err := x.c.createSession(ctx, fmt.Sprintf("bench-lock-%d", i))
		if err != nil {
			return res, fmt.Errorf("lock contender %d: %w", i, err)
		}
		x.session = id
	}

	var (
		holders                            atomic.Int64
		attempts, refused, waits, overlaps atomic.Uint64
		cycles                             atomic.Uint64
		verified, mismatches, errs         atomic.Uint64
		firstErr                           atomic.Pointer[string]
		wg                                 sync.WaitGroup
	)
	// runCtx ends the run: it cancels whatever a contender is waiting for
	// when the duration is over.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	timer := time.AfterFunc(cfg.Duration, stop)
	defer timer.Stop()
	fail := func(err error) {
		if runCtx.Err() != nil {
			return // cut short by the end of the run, not a failure
		}
		errs.Add(1)
		msg := err.Error()
		firstErr.CompareAndSwap(nil, &msg)
	}
	acquirePath := "/v1/kv/" + cfg.Key + "?acquire="
	releasePath := "/v1/kv/" + cfg.Key + "?release="

	start := time.Now()
	for i, x := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := []byte("held by contender " + strconv.Itoa(i))
			acquire := acquirePath + url.QueryEscape(x.session)
			release := releasePath + url.QueryEscape(x.session)
			for runCtx.Err() == nil {
				t0 := time.Now()
				err := func() error {
					for {
						attempts.Add(1)
						ok, err := x.c.boolCall(runCtx, http.MethodPut, acquire, value)
						if err != nil || ok {
							return err
						}
						refused.Add(1)
						// Why not? Read the key, and while another session
						// holds it wait for it to change.
						var index uint64
						for {
							holder, idx, err := x.c.lockHolder(runCtx, cfg.Key, index, cfg.Wait)
							if err != nil {
								return err
							}
							if index > 0 {
								waits.Add(1)
							}
							if holder == "" || holder == x.session {
								break
							}
							index = idx
						}
					}
				}()
				if err != nil {
					fail(err)
					pause(runCtx)
					continue
				}
				wait := time.Since(t0)
				if holders.Add(1) != 1 {
					overlaps.Add(1)
				}
				if cfg.Verify {
					holder, _, err := x.c.lockHolder(runCtx, cfg.Key, 0, 0)
					if err != nil {
						fail(err)
					} else {
						verified.Add(1)
						if holder != x.session {
							mismatches.Add(1)
						}
					}
				}
				holders.Add(-1)
				ok, err := x.c.boolCall(runCtx, http.MethodPut, release, nil)
				if err == nil && !ok {
					err = errors.New("release answered false")
				}
				if err != nil {
					// Still holding, most likely: the next acquisition by
					// this session succeeds at once and its release
					// tries again.
					fail(err)
					pause(runCtx)
					continue
				}
				x.hist.Record(wait)
				x.cycles++
				if cfg.Cycles > 0 && cycles.Add(1) >= cfg.Cycles {
					stop()
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = min(time.Since(start), cfg.Duration)
	res.hist = NewHistogram()
	res.MinCycles = ^uint64(0)
	for _, x := range cs {
		res.hist.Merge(x.hist)
		res.MinCycles = min(res.MinCycles, x.cycles)
		res.MaxCycles = max(res.MaxCycles, x.cycles)
	}
	res.Ops = res.hist.Count()
	res.Errors = errs.Load()
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	res.Attempts, res.Refused, res.Waits = attempts.Load(), refused.Load(), waits.Load()
	res.Overlaps, res.Verified, res.Mismatches = overlaps.Load(), verified.Load(), mismatches.Load()
	res.finish()
	return res, ctx.Err()
}

// pause waits a little after a failed request, so that a server failing
// fast is not hammered in a tight loop.
func pause(ctx context.Context) {
	t := time.NewTimer(10 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// PrefixIndex returns the X-Consul-Index of GET /v1/kv/<prefix>?recurse:
// the index a blocking query on the prefix would wait past. The prefix may
// hold no key (404).
func (c *ConsulHTTP) PrefixIndex(ctx context.Context, prefix string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/kv/"+prefix+"?recurse", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	out, err := drain(resp.Body, 512)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return 0, statusError("GET /v1/kv/"+prefix+"?recurse", resp.StatusCode, out)
	}
	return consulIndex(resp)
}

// Datacenter returns the agent's datacenter, from /v1/agent/self.
func (c *ConsulHTTP) Datacenter(ctx context.Context) (string, error) {
	_, out, err := c.do(ctx, http.MethodGet, "/v1/agent/self", nil)
	if err != nil {
		return "", err
	}
	var self struct{ Config struct{ Datacenter string } }
	if err := json.Unmarshal(out, &self); err != nil || self.Config.Datacenter == "" {
		return "", fmt.Errorf("/v1/agent/self: no Config.Datacenter (%v)", err)
	}
	return self.Config.Datacenter, nil
}

// CheckSession creates a session and destroys it, to tell whether the
// agent can hold sessions yet (it needs its own node registered with a
// passing serfHealth check).
func CheckSession(ctx context.Context, addr string) error {
	c := newSessionClient(addr)
	defer c.close()
	id, err := c.createSession(ctx, "bench-probe")
	if err != nil {
		return err
	}
	return c.destroySession(ctx, id)
}
