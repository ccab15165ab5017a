package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startNATS runs a plain nats-server in the test's process on a free
// loopback port and returns its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return ns.ClientURL()
}

// publisher returns a function publishing data on subject from a
// connection of its own.
func publisher(t *testing.T, url string) func(subject, data string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return func(subject, data string) error {
		if err := nc.Publish(subject, []byte(data)); err != nil {
			return err
		}
		return nc.Flush()
	}
}

func TestNATSFanoutReachesEverySubscriber(t *testing.T) {
	url := startNATS(t)
	pub := publisher(t, url)
	_, addr := newFakeCoord(t) // only pinged until quiet
	const subs = 300
	var beforeRan, afterRan bool
	res, err := NATSFanout(context.Background(), NATSFanoutConfig{
		URL: url, Subject: "app.watch.>", Subscribers: subs, Conns: 7, Addr: addr,
		Check: func(m *nats.Msg) error {
			if string(m.Data) != "v2" || m.Subject != "app.watch.key" {
				return errors.New("wrong message " + m.Subject + " " + string(m.Data))
			}
			return nil
		},
		Before: func() { beforeRan = true },
		After:  func() { afterRan = true },
		Change: func(context.Context) error {
			// A subject outside the subscription first: nobody must get it.
			if err := pub("app.other", "no"); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			return pub("app.watch.key", "v2")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Woken != subs || res.Errors != 0 || res.Early != 0 || res.InFlight != subs {
		t.Fatalf("woken %d errors %d (%s) early %d in flight %d, want all %d", res.Woken, res.Errors, res.FirstError, res.Early, res.InFlight, subs)
	}
	// The change waited 20ms before publishing what they wait for.
	if res.P50 < 20*time.Millisecond || res.P99 < res.P50 || res.Max < res.P99 || res.ChangeTook < 20*time.Millisecond {
		t.Errorf("p50 %v p99 %v max %v change took %v", res.P50, res.P99, res.Max, res.ChangeTook)
	}
	if !beforeRan || !afterRan || !res.Settled || res.Connect <= 0 {
		t.Errorf("before %v after %v settled %v connect %v", beforeRan, afterRan, res.Settled, res.Connect)
	}
}

func TestNATSFanoutCountsEarlyWrongAndMissing(t *testing.T) {
	url := startNATS(t)
	pub := publisher(t, url)
	ctx := context.Background()
	wantData := func(m *nats.Msg) error {
		if string(m.Data) != "right" {
			return errors.New("wrong payload " + string(m.Data))
		}
		return nil
	}

	// A message before the change: every subscriber early.
	res, err := NATSFanout(ctx, NATSFanoutConfig{URL: url, Subject: "a.>", Subscribers: 40, Conns: 4, Check: wantData,
		Before: func() {
			if err := pub("a.b", "right"); err != nil {
				t.Error(err)
			}
			time.Sleep(100 * time.Millisecond)
		},
		Change: func(context.Context) error { return pub("a.b", "right") }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Early != 40 || res.Woken != 0 || res.InFlight != 0 {
		t.Errorf("early %d woken %d in flight %d, want 40 early", res.Early, res.Woken, res.InFlight)
	}

	// The wrong message first fails the subscriber; the right one after
	// it does not count.
	res, err = NATSFanout(ctx, NATSFanoutConfig{URL: url, Subject: "a.>", Subscribers: 40, Conns: 4, Check: wantData,
		Change: func(context.Context) error {
			if err := pub("a.b", "wrong"); err != nil {
				return err
			}
			return pub("a.b", "right")
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 40 || res.Woken != 0 || !strings.Contains(res.FirstError, "wrong payload") {
		t.Errorf("errors %d woken %d first %q, want 40 wrong", res.Errors, res.Woken, res.FirstError)
	}

	// Nothing published: given up on at the wake timeout.
	res, err = NATSFanout(ctx, NATSFanoutConfig{URL: url, Subject: "a.>", Subscribers: 10, WakeTimeout: 100 * time.Millisecond,
		Change: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 10 || res.Woken != 0 || !strings.Contains(res.FirstError, "no answer") {
		t.Errorf("errors %d woken %d first %q, want 10 without an answer", res.Errors, res.Woken, res.FirstError)
	}

	// Cannot start: no server, no change.
	if _, err := NATSFanout(ctx, NATSFanoutConfig{URL: "nats://127.0.0.1:1", Subject: "a", Subscribers: 1,
		Change: func(context.Context) error { return nil }}); err == nil {
		t.Error("no error without a server")
	}
	if _, err := NATSFanout(ctx, NATSFanoutConfig{URL: url, Subject: "a", Subscribers: 1}); err == nil {
		t.Error("no error without a change")
	}
}
