// Command replbench measures Herald's KV replication between datacenters:
// the lag from a write acknowledged in the source datacenter to the same
// change applied in the destination, under a steady load of -rate writes a
// second for -duration. It starts two one-server datacenters (persistent,
// fsync on) on free loopback ports, dc2 replicating dc1's bench/ into
// copy/ (kv_replication), federates them (WAN join), writes into dc1 over
// HTTP, and follows dc2's event stream on NATS to see each change land.
// Every process is stopped and the data removed when it ends, also on
// Ctrl+C.
//
// Usage, from the repository root after `make build`:
//
//	go run ./bench/cmd/replbench [-rate=1000] [-duration=20s] [-herald=./bin/herald]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/watch"
)

const (
	sourcePrefix = "bench/"
	destPrefix   = "copy/"
)

func main() {
	bin := flag.String("herald", "./bin/herald", "Herald binary")
	rate := flag.Int("rate", 1000, "writes a second into the source datacenter")
	duration := flag.Duration("duration", 20*time.Second, "how long the load runs")
	writers := flag.Int("writers", 64, "concurrent HTTP writers")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if err := run(*bin, *rate, *duration, *writers, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "replbench:", err)
		os.Exit(1)
	}
}

func run(bin string, rate int, duration time.Duration, writers int, keep bool) error {
	ctx, stop := bench.Interruptible()
	defer stop()
	dir, done, err := bench.WorkDir("replbench", "", keep)
	if err != nil {
		return err
	}
	defer done()

	wanPort := func() (string, error) {
		p, err := bench.FreePort()
		return strconv.Itoa(p), err
	}
	w1, err := wanPort()
	if err != nil {
		return err
	}
	w2, err := wanPort()
	if err != nil {
		return err
	}
	dc1, err := bench.StartHerald(bench.HeraldConfig{Bin: bin, Dir: dir, Name: "dc1", Node: "s1",
		Extra: []string{"-datacenter=dc1", "-serf-wan-port=" + w1, "-nats-gateway-port=0", "-log-level=warn"}})
	if err != nil {
		return err
	}
	defer dc1.Stop()
	dc2, err := bench.StartHerald(bench.HeraldConfig{Bin: bin, Dir: dir, Name: "dc2", Node: "s2",
		Extra: []string{"-datacenter=dc2", "-serf-wan-port=" + w2, "-nats-gateway-port=0", "-log-level=warn",
			"-hcl", fmt.Sprintf(`kv_replication { source_datacenter = "dc1" prefix = %q destination_prefix = %q }`, sourcePrefix, destPrefix)}})
	if err != nil {
		return err
	}
	defer dc2.Stop()

	httpc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: writers}}
	put := func(ctx context.Context, addr, key, value string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+"/v1/kv/"+key, strings.NewReader(value))
		if err != nil {
			return err
		}
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT %s: %s", key, resp.Status)
		}
		return nil
	}
	for _, h := range []*bench.Herald{dc1, dc2} {
		if err := h.Poll(ctx, 60*time.Second, "a first write", func(ctx context.Context) error {
			return put(ctx, h.HTTPAddr, "ready", "1")
		}); err != nil {
			return err
		}
	}
	if err := dc2.Poll(ctx, 30*time.Second, "the WAN join", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+dc2.HTTPAddr+"/v1/agent/join/127.0.0.1:"+w1+"?wan=1", nil)
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}); err != nil {
		return err
	}

	// Follow dc2's kv events from now on: each copy/ change is one key
	// of the load landing.
	nc, err := nats.Connect(dc2.NATSURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	from, err := watch.LastIndex(ctx, js, "dc2", event.ShardKV)
	if err != nil {
		return err
	}
	// Every write has a key of its own, bench/<n>, so that each change
	// that lands is one write. acked[n] is when dc1 acknowledged it.
	keys := int(duration.Seconds()*float64(rate)) + rate
	acked := make([]atomic.Int64, keys)
	var early atomic.Int64 // landed before its acknowledgement reached the writer
	lag, sinceSend := bench.NewHistogram(), bench.NewHistogram()
	var mu sync.Mutex
	var landed atomic.Int64
	probe := make(chan struct{}, 1)
	stopSub, errs, err := watch.Subscribe(ctx, js, "dc2", event.ShardKV, from+1, func(ev event.Event) error {
		if ev.Type != event.KVUpdated || !strings.HasPrefix(ev.Key, destPrefix) {
			return nil
		}
		now := time.Now().UnixNano()
		if ev.Key == destPrefix+"probe" {
			select {
			case probe <- struct{}{}:
			default:
			}
			return nil
		}
		i, err := strconv.Atoi(strings.TrimPrefix(ev.Key, destPrefix))
		if err != nil || i >= keys {
			return nil
		}
		// The value is the write's send time: the lag from it, and from
		// its acknowledgement when that is known.
		sent, _ := strconv.ParseInt(string(bytes.TrimSpace(ev.KV.Value)), 10, 64)
		mu.Lock()
		if sent > 0 {
			sinceSend.Record(time.Duration(now - sent))
		}
		if a := acked[i].Load(); a > 0 && a <= now {
			lag.Record(time.Duration(now - a))
		} else {
			early.Add(1)
		}
		mu.Unlock()
		landed.Add(1)
		return nil
	})
	if err != nil {
		return err
	}
	defer stopSub()
	// The replication is up once a probe key crosses.
	if err := dc2.Poll(ctx, 60*time.Second, "the first replicated key", func(ctx context.Context) error {
		if err := put(ctx, dc1.HTTPAddr, sourcePrefix+"probe", "0"); err != nil {
			return err
		}
		select {
		case <-probe:
			return nil
		case <-time.After(time.Second):
			return errors.New("not replicated yet")
		}
	}); err != nil {
		return err
	}

	// The load: an open loop of rate writes a second, spread over the
	// writers.
	work := make(chan int, writers*4)
	var wg sync.WaitGroup
	var sent, failed, dropped atomic.Int64
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				i := n
				t0 := time.Now().UnixNano()
				if err := put(ctx, dc1.HTTPAddr, fmt.Sprintf("%s%d", sourcePrefix, i), strconv.FormatInt(t0, 10)); err != nil {
					failed.Add(1)
					continue
				}
				acked[i].Store(time.Now().UnixNano())
				sent.Add(1)
			}
		}()
	}
	// Paced by the clock rather than by ticks (which a busy machine
	// drops): every write due by now goes out.
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	for n := 0; time.Since(start) < duration && ctx.Err() == nil && n < keys; {
		<-tick.C
		for due := int(time.Since(start).Seconds() * float64(rate)); n < due && n < keys; n++ {
			select {
			case work <- n:
			default:
				dropped.Add(1) // the writers cannot keep up
			}
		}
	}
	tick.Stop()
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	// Wait for the tail of the load to land.
	deadline := time.Now().Add(30 * time.Second)
	for landed.Load() < sent.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-errs:
		if err != nil {
			return err
		}
	default:
	}

	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("replbench: %d writes in %v into dc1 (%.0f/s asked, %.0f/s done, %d failed, %d not sent: writers busy), %d landed in dc2\n",
		sent.Load(), elapsed.Round(time.Millisecond), float64(rate), float64(sent.Load())/elapsed.Seconds(), failed.Load(), dropped.Load(), landed.Load())
	fmt.Printf("%-34s %10s %10s %10s %10s\n", "lag", "p50", "p99", "max", "count")
	if early.Load() > 0 {
		defer fmt.Printf("(%d changes landed in dc2 before dc1's acknowledgement reached the writer: left out of the first row)\n", early.Load())
	}
	for _, row := range []struct {
		name string
		h    *bench.Histogram
	}{{"dc1 acknowledged -> dc2 applied", lag}, {"dc1 sent -> dc2 applied", sinceSend}} {
		fmt.Printf("%-34s %10v %10v %10v %10d\n", row.name, row.h.Quantile(0.5).Round(10*time.Microsecond),
			row.h.Quantile(0.99).Round(10*time.Microsecond), row.h.Max().Round(10*time.Microsecond), row.h.Count())
	}
	return nil
}
