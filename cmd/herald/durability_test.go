package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/watch"
)

// TestKillNineLosesNoAcknowledgedWrite kills a persistent server with SIGKILL
// in the middle of a concurrent write load, restarts it on the same data, and
// checks that every write the API acknowledged is there, and that the event
// stream holds every change exactly once, in index order.
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	s := newServer(t)
	s.start()
	client, err := api.NewClient(&api.Config{Address: s.httpAddr()})
	if err != nil {
		t.Fatal(err)
	}

	// A core NATS subscriber sees the live events until the kill.
	nc, err := nats.Connect(s.natsURL())
	if err != nil {
		t.Fatal(err)
	}
	var liveMu sync.Mutex
	var live []uint64
	if _, err := nc.Subscribe("herald.dc1.kv.>", func(m *nats.Msg) {
		var ev event.Event
		if err := json.Unmarshal(m.Data, &ev); err == nil {
			liveMu.Lock()
			live = append(live, ev.Index)
			liveMu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	const writers = 16
	var acked sync.Map // key -> value
	var ackedCount atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			kv := client.KV()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, value := fmt.Sprintf("load/%02d/%06d", w, i), fmt.Sprintf("v%d-%d", w, i)
				if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
					return // the server died under us: this write was not acknowledged
				}
				acked.Store(key, value)
				ackedCount.Add(1)
			}
		}(w)
	}
	// Kill at 2000 acknowledged writes, or after 30 s with what there is.
	poll.Until(30*time.Second, func() (bool, string) { return ackedCount.Load() >= 2000, "" })
	s.kill()
	close(stop)
	wg.Wait()
	nc.Close()
	n := ackedCount.Load()
	if n < 100 {
		t.Fatalf("only %d writes acknowledged before the kill", n)
	}

	liveMu.Lock()
	for i := 1; i < len(live); i++ {
		if live[i] <= live[i-1] {
			t.Fatalf("live subscriber saw index %d after %d", live[i], live[i-1])
		}
	}
	liveMu.Unlock()

	s.start()
	pairs, _, err := client.KV().List("load/", nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, p := range pairs {
		stored[p.Key] = string(p.Value)
	}
	lost := 0
	acked.Range(func(k, v any) bool {
		if stored[k.(string)] != v.(string) {
			lost++
			if lost < 5 {
				t.Errorf("acknowledged write %s=%s lost (have %q)", k, v, stored[k.(string)])
			}
		}
		return true
	})
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, n)
	}
	t.Logf("%d acknowledged writes, all present after kill -9", n)

	// The stream, read from the start after the restart, holds one event per
	// stored key, in index order, none twice.
	nc2, err := nats.Connect(s.natsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	js, err := jetstream.New(nc2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := withTimeout(30 * time.Second)
	defer cancel()
	seen := map[string]int{}
	var last uint64
	var mu sync.Mutex
	done := make(chan struct{})
	stopSub, errs, err := watch.Subscribe(ctx, js, "dc1", "kv", 0, func(ev event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.Index < last {
			return fmt.Errorf("event at index %d after %d", ev.Index, last)
		}
		last = ev.Index
		seen[ev.Key]++
		if len(seen) == len(stored) {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stopSub()
	select {
	case <-done:
	case err := <-errs:
		t.Fatalf("subscription ended: %v", err)
	case <-ctx.Done():
		mu.Lock()
		t.Fatalf("stream delivered events for %d of %d keys", len(seen), len(stored))
	}
	mu.Lock()
	defer mu.Unlock()
	for k, c := range seen {
		if c != 1 {
			t.Errorf("key %s: %d events, want 1", k, c)
		}
	}
}
