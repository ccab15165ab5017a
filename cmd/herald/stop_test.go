package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// stopBound is how long an agent may take from SIGINT or SIGTERM to exit.
// It is generous for a busy CI machine; the typical figure is well under a
// second, and the test logs it.
const stopBound = 3 * time.Second

// blockingAnswer is the outcome of a blocking query.
type blockingAnswer struct {
	code  int
	index string
	err   error
}

// openBlockingQuery starts GET /v1/kv/<key>?index=<index>&wait=5m and
// returns once the request has been written to the agent; the answer comes
// on the channel.
func openBlockingQuery(t *testing.T, httpAddr, key string, index uint64) <-chan blockingAnswer {
	t.Helper()
	written := make(chan struct{})
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(written) }}
	url := fmt.Sprintf("http://%s/v1/kv/%s?index=%d&wait=5m", httpAddr, key, index)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	out := make(chan blockingAnswer, 1)
	// A connection of its own: a kept-alive one that the agent sees idle
	// when it stops is closed under a request that has just arrived, and
	// the client tries again and finds the agent gone.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		res, err := client.Do(req)
		if err != nil {
			out <- blockingAnswer{err: err}
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		out <- blockingAnswer{code: res.StatusCode, index: res.Header.Get("X-Consul-Index")}
	}()
	select {
	case <-written:
	case a := <-out:
		t.Fatalf("the blocking query ended before it was sent: %+v", a)
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking query was not sent within 10s")
	}
	// Sent is not yet taken: a connection still in the listener's backlog
	// when the agent stops is refused, as any connection after it. A
	// request on a new connection that is answered was accepted after the
	// query's (the backlog is first in, first out), so the agent has the
	// query now.
	res, err := client.Get("http://" + httpAddr + "/v1/status/leader")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return out
}

// stopWithin signals the agent and waits for its process to exit; it
// fails the test unless the process exits with 0 within bound, and returns
// how long it took.
func (s *server) stopWithin(sig os.Signal, bound time.Duration) time.Duration {
	s.t.Helper()
	done := make(chan error, 1)
	cmd := s.cmd
	start := time.Now()
	s.signal(sig)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		err = <-done
		log, _ := os.ReadFile(s.logPath)
		s.t.Fatalf("the agent did not exit within 20s of %v; log:\n%s", sig, log)
	}
	took := time.Since(start)
	s.cmd = nil
	if err != nil {
		log, _ := os.ReadFile(s.logPath)
		s.t.Fatalf("the agent exited with %v after %v (not a clean shutdown); log:\n%s", err, sig, log)
	}
	if took > bound {
		s.t.Errorf("the agent took %v to exit on %v, more than %v", took.Round(time.Millisecond), sig, bound)
	}
	return took
}

// TestSignalEndsBlockingQueriesAndStops: a server with a blocking query
// open exits promptly on SIGINT and on SIGTERM (it used to wait 5s for the
// long-poll), the query is answered rather than cut off, and the data
// written before is there after a restart on the same data dir: the state
// was closed cleanly and the server stayed a voter (a server does not leave
// the cluster on either signal by default, as in Consul).
func TestSignalEndsBlockingQueriesAndStops(t *testing.T) {
	s := newServer(t)
	s.start()
	c, err := api.NewClient(&api.Config{Address: s.httpAddr()})
	if err != nil {
		t.Fatal(err)
	}
	for i, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		key := fmt.Sprintf("stop/%d", i)
		if _, err := c.KV().Put(&api.KVPair{Key: key, Value: []byte(sig.String())}, nil); err != nil {
			t.Fatal(err)
		}
		_, meta, err := c.KV().Get(key, nil)
		if err != nil {
			t.Fatal(err)
		}
		answer := openBlockingQuery(t, s.httpAddr(), key, meta.LastIndex)
		took := s.stopWithin(sig, stopBound)
		t.Logf("%v: the server exited %v after the signal, with a blocking query open", sig, took.Round(time.Millisecond))
		a := <-answer
		if a.err != nil || a.code != http.StatusOK || a.index != strconv.FormatUint(meta.LastIndex, 10) {
			t.Errorf("%v: the blocking query got %+v (%v); want a 200 at index %d", sig, a, a.err, meta.LastIndex)
		}

		s.start()
		for j := 0; j <= i; j++ {
			k := fmt.Sprintf("stop/%d", j)
			p, _, err := c.KV().Get(k, &api.QueryOptions{RequireConsistent: true})
			if err != nil || p == nil {
				t.Fatalf("after %v and a restart, %s: %+v %v", sig, k, p, err)
			}
		}
		peers, err := c.Status().Peers()
		if err != nil || len(peers) != 1 {
			t.Fatalf("after %v and a restart, the voters are %v (%v); want the server still one", sig, peers, err)
		}
	}
}

// TestClientLeavesOnSignal: a client agent leaves the cluster gracefully on
// SIGTERM and on SIGINT (Consul's defaults for clients: leave_on_terminate
// true, skip_leave_on_interrupt false), promptly even with a blocking query
// open on it; the server sees it as left, not failed.
func TestClientLeavesOnSignal(t *testing.T) {
	srv := newServer(t)
	srv.node = "srv"
	srv.start()
	sc, _ := api.NewClient(&api.Config{Address: srv.httpAddr()})
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		cl := newServer(t)
		cl.node, cl.client = "cli-"+sig.String(), true
		cl.extraArgs = []string{"-retry-join=" + srv.serfAddr(), "-retry-interval=200ms"}
		cl.launch()
		cl.waitLeader()
		memberStatus := func() int {
			members, _ := sc.Agent().Members(false)
			for _, m := range members {
				if m.Name == cl.node {
					return m.Status
				}
			}
			return -1
		}
		poll.True(t, 10*time.Second, "the server sees the client alive", func() bool { return memberStatus() == 1 })
		cc, _ := api.NewClient(&api.Config{Address: cl.httpAddr()})
		if _, err := cc.KV().Put(&api.KVPair{Key: "client/" + sig.String(), Value: []byte("x")}, nil); err != nil {
			t.Fatal(err)
		}
		_, meta, err := cc.KV().Get("client/"+sig.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		answer := openBlockingQuery(t, cl.httpAddr(), "client/"+sig.String(), meta.LastIndex)
		// The leave waits for gossip to carry it (2-2.5 s here with
		// Serf's LAN timing): a longer bound than a server's stop.
		took := cl.stopWithin(sig, stopBound+4*time.Second)
		t.Logf("%v: the client left and exited %v after the signal", sig, took.Round(time.Millisecond))
		if a := <-answer; a.err != nil || a.code != http.StatusOK {
			t.Errorf("%v: the client's blocking query got %+v; want a 200", sig, a)
		}
		// Status 3 is Serf's "left"; a client that just died is 4, failed.
		poll.Eventually(t, 5*time.Second, "the server sees the client as left", func() (bool, string) {
			st := memberStatus()
			return st == 3, fmt.Sprintf("status %d", st)
		})
	}
}
