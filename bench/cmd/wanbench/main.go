// Command wanbench measures what crossing datacenters costs: it starts two
// one-server Heralds persisting with fsync, dc1 and dc2, federated over
// the WAN on loopback (Serf WAN and the NATS gateways), and measures in
// the same run, interleaved, each request answered by dc2 itself and the
// same request asked of dc1 for dc2, which dc1 sends through the gateways:
//
//   - a KV get: GET /v1/kv/<key> on dc2 against GET /v1/kv/<key>?dc=dc2
//     on dc1;
//   - a DNS lookup: web.service.consul (SRV) on dc2's DNS interface against
//     web.service.dc2.consul on dc1's.
//
// It prints each pair's rates and latencies (p50, p99) and their ratios,
// cross against local.
//
// Usage, from the repository root after `go build -o bin/herald ./cmd/herald`:
//
//	go run ./bench/cmd/wanbench [-duration=10s] [-json=FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/bench"
)

// tool prefixes what wanbench says on stderr.
var tool = bench.Tool{Name: "wanbench"}

// dnsInstances is how many instances of web dc2 has, and the SRV answers
// hold.
const dnsInstances = 3

type options struct {
	herald        string
	duration      time.Duration
	warmup        time.Duration
	rounds        int
	getClients    int
	dnsClients    int
	keys          int
	tmp, jsonPath string
	keep          bool
	startTimeout  time.Duration
}

func main() { os.Exit(run()) }

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.herald, "herald", "./bin/herald", "Herald binary (build: go build -o bin/herald ./cmd/herald)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario per side")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario per side")
	flag.IntVar(&o.rounds, "rounds", 2, "split each measurement into this many slices, alternating sides")
	flag.IntVar(&o.getClients, "get-clients", 16, "concurrent clients of the kv get scenario")
	flag.IntVar(&o.dnsClients, "dns-clients", 16, "concurrent clients of the DNS SRV scenario")
	flag.IntVar(&o.keys, "keys", 1000, "keys written to dc2 and read")
	flag.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.tmp, "tmp", "", "parent of the temporary directory holding the servers' data")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data and server logs)")
	flag.DurationVar(&o.startTimeout, "start-timeout", 60*time.Second, "how long the federation may take to answer its first request")
	flag.Parse()
	var err error
	if o.herald, err = exec.LookPath(o.herald); err != nil {
		return o, fmt.Errorf("herald binary not found (%v): build it with `go build -o bin/herald ./cmd/herald` or pass -herald=PATH", err)
	}
	return o, nil
}

// inDC is a KV client whose requests name a datacenter (?dc=).
type inDC struct {
	*bench.ConsulKV
	dc string
}

func (c inDC) Put(ctx context.Context, key string, value []byte) error {
	return c.ConsulKV.Put(ctx, key+"?dc="+c.dc, value)
}

func (c inDC) Get(ctx context.Context, key string) error {
	return c.ConsulKV.Get(ctx, key+"?dc="+c.dc)
}

func run() int {
	o, err := parseFlags()
	if err != nil {
		return tool.Fail(2, err)
	}
	ctx, dir, end, err := tool.Begin(o.tmp, o.keep)
	if err != nil {
		return tool.Fail(1, err)
	}
	defer end()

	var dcs []*bench.Herald
	defer func() {
		for _, h := range dcs {
			h.Stop()
		}
	}()
	var firstWAN int
	for i, dc := range []string{"dc1", "dc2"} {
		wanPort, err := bench.FreePortOn("127.0.0.1")
		if err != nil {
			return tool.Abort(ctx, err)
		}
		extra := []string{"-datacenter=" + dc, "-serf-wan-port=" + strconv.Itoa(wanPort), "-nats-gateway-port=0"}
		if i == 0 {
			firstWAN = wanPort
		} else {
			extra = append(extra, "-retry-join-wan=127.0.0.1:"+strconv.Itoa(firstWAN), "-retry-interval-wan=200ms")
		}
		h, err := bench.StartHerald(bench.HeraldConfig{Bin: o.herald, Dir: dir, Name: dc, Node: "s-" + dc, DNS: true, Extra: extra})
		if err != nil {
			return tool.Abort(ctx, err)
		}
		dcs = append(dcs, h)
	}
	dc1, dc2 := dcs[0], dcs[1]
	local := bench.NewConsulKV(dc2.HTTPAddr, o.getClients)
	defer local.Close()
	cross := inDC{bench.NewConsulKV(dc1.HTTPAddr, o.getClients), "dc2"}
	defer cross.Close()
	if err := dc2.WaitWrite(ctx, o.startTimeout, local, "bench/ready", "accept a write", nil); err != nil {
		return tool.Abort(ctx, err)
	}
	if err := dc1.WaitWrite(ctx, o.startTimeout, cross, "bench/ready", "accept a write for dc2 through the WAN", nil); err != nil {
		return tool.Abort(ctx, err)
	}
	tool.Logf("dc1 on %s and dc2 on %s federated", dc1.HTTPAddr, dc2.HTTPAddr)

	kv := bench.Config{Op: bench.OpGet, Concurrency: o.getClients, Keys: o.keys}
	if err := bench.Preload(ctx, local, kv); err != nil {
		return tool.Abort(ctx, err)
	}
	api := bench.NewConsulHTTP(dc2.HTTPAddr)
	err = api.RegisterInstances(ctx, "web", dnsInstances)
	api.Close()
	if err != nil {
		return tool.Abort(ctx, fmt.Errorf("registering web in dc2: %w", err))
	}
	crossDNS := bench.DNSQuery{Addr: dc1.DNSAddr, Name: "web.service.dc2.consul.", Type: dns.TypeSRV, Want: dnsInstances}
	if err := dc1.Poll(ctx, o.startTimeout, "answer web.service.dc2.consul", func(ctx context.Context) error {
		m, err := bench.LookupOnce(ctx, crossDNS.Addr, crossDNS.Name, crossDNS.Type)
		if err != nil {
			return err
		}
		return bench.CheckSRVAnswer(m, dnsInstances)
	}); err != nil {
		return tool.Abort(ctx, err)
	}

	var rep report
	rep.Duration = o.duration.String()
	iv := bench.Interleave{Duration: o.duration, Rounds: o.rounds, Warmup: o.warmup}
	kvTargets := []bench.Target{local, cross}
	get := func(ctx context.Context, i int, d time.Duration, _ bool) (bench.Result, error) {
		cfg := kv
		cfg.Duration = d
		return bench.Run(ctx, kvTargets[i], cfg), nil
	}
	queries := []bench.DNSQuery{
		{Addr: dc2.DNSAddr, Name: "web.service.consul.", Type: dns.TypeSRV, Want: dnsInstances},
		crossDNS,
	}
	srv := func(ctx context.Context, i int, d time.Duration, _ bool) (bench.Result, error) {
		return bench.RunWorkload(ctx, bench.DNSWorkload(queries[i], o.dnsClients, d))
	}
	for n, sc := range []struct {
		name    string
		measure func(context.Context, int, time.Duration, bool) (bench.Result, error)
	}{{fmt.Sprintf("kv get@%d", o.getClients), get}, {fmt.Sprintf("dns srv@%d", o.dnsClients), srv}} {
		iv.Shift = n
		res, err := iv.Run(ctx, 2, sc.measure)
		if err != nil {
			return tool.Abort(ctx, fmt.Errorf("%s: %w", sc.name, err))
		}
		for i, r := range res {
			if r.Errors > 0 {
				tool.Logf("%s, %s: %d errors, the first: %s", sc.name, []string{"local", "cross"}[i], r.Errors, r.FirstError)
			}
		}
		rep.add(sc.name, res[0], res[1])
	}
	if ctx.Err() != nil {
		return tool.Abort(ctx, errors.New("interrupted"))
	}
	rep.print(os.Stdout)
	if o.jsonPath != "" {
		if err := bench.WriteJSON(o.jsonPath, rep); err != nil {
			return tool.Fail(1, err)
		}
	}
	return 0
}
