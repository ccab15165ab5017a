package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/watch"
)

// TestEventStreamAcrossCluster: the servers' embedded NATS servers form
// one NATS cluster, so a subscriber on any server's NATS sees every write
// of a write load exactly once and in index order, while the leader is
// killed in the middle of it.
func TestEventStreamAcrossCluster(t *testing.T) {
	servers := make([]*server, 3)
	for i := range servers {
		s := newLoopbackServer(t, fmt.Sprintf("127.0.0.%d", i+2))
		s.node, s.expect = fmt.Sprintf("es%d", i+1), 3
		s.extraArgs = []string{"-retry-join=127.0.0.2", "-retry-interval=200ms",
			"-nats-route=127.0.0.2:6222", "-nats-route=127.0.0.3:6222", "-nats-route=127.0.0.4:6222"}
		servers[i] = s
		s.launch()
	}
	clients := make([]*api.Client, 3)
	for i, s := range servers {
		s.waitLeader()
		clients[i], _ = api.NewClient(&api.Config{Address: s.httpAddr()})
	}
	leader, err := clients[0].Status().Leader()
	if err != nil {
		t.Fatal(err)
	}
	victim, others := -1, []int{}
	for i, s := range servers {
		if strings.HasPrefix(leader, s.addr()+":") {
			victim = i
		} else {
			others = append(others, i)
		}
	}
	if victim < 0 {
		t.Fatalf("leader %s is none of the servers", leader)
	}

	// The subscriber is on a server that stays up.
	nc, err := nats.Connect(servers[others[1]].natsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var mu sync.Mutex
	seen := map[string]int{}
	var order []uint64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stop func()
	var errs <-chan error
	poll.Eventually(t, 30*time.Second, "an event stream on "+servers[others[1]].natsURL(), func() (bool, string) {
		stop, errs, err = watch.Subscribe(ctx, js, "dc1", "kv", 1, func(ev event.Event) error {
			if ev.Type == event.KVUpdated {
				mu.Lock()
				seen[ev.Key]++
				order = append(order, ev.Index)
				mu.Unlock()
			}
			return nil
		})
		return err == nil, fmt.Sprint(err)
	})
	defer stop()

	// Writers through a server that stays up; the leader dies mid-load.
	var acked sync.Map
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; loadCtx.Err() == nil; n++ {
				key := fmt.Sprintf("load/%d/%d", w, n)
				if _, err := clients[others[0]].KV().Put(&api.KVPair{Key: key, Value: []byte("x")}, nil); err == nil {
					acked.Store(key, true)
				}
			}
		}()
	}
	waitCount := func(n int) {
		poll.Eventually(t, 20*time.Second, fmt.Sprintf("%d writes acknowledged", n), func() (bool, string) {
			count := 0
			acked.Range(func(any, any) bool { count++; return true })
			return count >= n, fmt.Sprintf("only %d", count)
		})
	}
	waitCount(200)
	servers[victim].kill()
	killedAt := time.Now()
	before := 0
	acked.Range(func(any, any) bool { before++; return true })
	waitCount(before + 200)
	t.Logf("200 more writes acknowledged %v after the leader was killed", time.Since(killedAt).Round(time.Millisecond))
	stopLoad()
	wg.Wait()

	total := 0
	acked.Range(func(any, any) bool { total++; return true })
	poll.Eventually(t, 30*time.Second, "every acknowledged write reached the subscriber", func() (bool, string) {
		missing := 0
		mu.Lock()
		acked.Range(func(k, _ any) bool {
			if seen[k.(string)] == 0 {
				missing++
			}
			return true
		})
		mu.Unlock()
		if missing == 0 {
			return true, ""
		}
		select {
		case err := <-errs:
			t.Fatalf("subscription failed: %v", err)
		default:
		}
		return false, fmt.Sprintf("%d of %d missing", missing, total)
	})
	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("events out of order: index %d after %d", order[i], order[i-1])
		}
	}
	t.Logf("%d acknowledged writes, %d events delivered once each, in index order", total, len(order))
}
