// Command discobench measures the discovery side of Herald on this
// machine: DNS SRV lookups against a bare DNS server answering the same
// records from memory, agent service registration, health reads of a
// 30-instance service, and a fan-out of blocking queries woken by one
// health change. It starts one persistent (fsync on) Herald server on free
// loopback ports, runs the scenarios, prints a table with the targets
// Herald aims for, and stops the server and removes its data when it ends,
// also on Ctrl+C.
//
// Usage, from the repository root after `make build`:
//
//	go run ./bench/cmd/discobench [-duration=10s] [-scenarios=dns,health,watch,register] [-watchers=20000] [-json=FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/bench"
	"github.com/miekg/dns"
)

// The scenarios, in the order they run. Registration runs last: every
// service registered with the agent is then synced to the catalog in the
// background, which would load the server during a later scenario.
var scenarioOrder = []string{"dns", "health", "watch", "register"}

// defaultClients is each scenario's concurrency unless -scenarios says
// name@clients.
var defaultClients = map[string]int{"dns": 32, "health": 32, "register": 16}

// The shapes of the registered data.
const (
	dnsService    = "web" // DNS scenario: SRV lookups of web.service.consul
	dnsInstances  = 10
	healthService = "api" // health and watch scenarios
	healthCount   = 30
	regService    = "reg" // registered by the register scenario
)

type options struct {
	herald       string
	heraldArgs   string
	duration     time.Duration
	warmup       time.Duration
	rounds       int
	scenarios    map[string]int // name -> clients (watch: 0)
	watchers     int
	openFiles    uint64
	jsonPath     string
	bare         string // "inproc" or "process"
	serveBare    string // internal: be the bare DNS server of -bare=process
	startTimeout time.Duration
	tmp          string
	keep, strict bool
}

// tool prefixes what discobench says on stderr.
var tool = bench.Tool{Name: "discobench"}

func main() { os.Exit(run()) }

func parseFlags() (options, error) {
	var o options
	var scenarios string
	flag.StringVar(&o.herald, "herald", "./bin/herald", "Herald binary (build: make build)")
	flag.StringVar(&o.heraldArgs, "herald-args", "", "extra space-separated arguments for `herald agent`")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario per target")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario per target")
	flag.IntVar(&o.rounds, "rounds", 2, "split the DNS measurement into this many slices, alternating targets A B B A ...")
	flag.StringVar(&scenarios, "scenarios", "dns,health,watch,register",
		"comma-separated scenarios, each name or name@clients: dns (default @32), health (@32), register (@16), watch (see -watchers); they always run in the order dns, health, watch, register")
	flag.IntVar(&o.watchers, "watchers", 20000, "blocking queries held open by the watch scenario")
	flag.Uint64Var(&o.openFiles, "open-files", 65536, "open-file limit to raise this process (and the server it starts) to")
	flag.StringVar(&o.bare, "bare", "process", "where the bare DNS server runs: process (a child process of its own, like Herald: the like-for-like comparison) or inproc (in discobench, sharing its Go runtime with the clients)")
	flag.StringVar(&o.serveBare, "serve-bare", "", "internal: serve the packed DNS answer in this file as the bare server of -bare=process")
	flag.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.DurationVar(&o.startTimeout, "start-timeout", 30*time.Second, "how long the server may take to accept its first write")
	flag.StringVar(&o.tmp, "tmp", "", "parent of the temporary directory holding the server's data (default $TMPDIR or /tmp); on tmpfs fsync costs nothing")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data and server log) for inspection")
	flag.BoolVar(&o.strict, "strict", false, "exit with status 3 if a target is missed")
	flag.Parse()

	if o.serveBare != "" {
		return o, nil
	}
	if o.bare != "inproc" && o.bare != "process" {
		return o, fmt.Errorf("-bare=%q: want inproc or process", o.bare)
	}
	var err error
	if o.scenarios, err = parseScenarios(scenarios); err != nil {
		return o, err
	}
	if o.rounds < 1 || o.duration < time.Duration(o.rounds)*time.Millisecond {
		return o, errors.New("-rounds must be at least 1 and -duration long enough to split")
	}
	if _, ok := o.scenarios["watch"]; ok && o.watchers < 1 {
		return o, errors.New("-watchers must be at least 1")
	}
	if o.herald, err = exec.LookPath(o.herald); err != nil {
		return o, fmt.Errorf("herald binary not found (%v): build it with `make build` or pass -herald=PATH", err)
	}
	return o, nil
}

// parseScenarios reads "dns@32,health,watch".
func parseScenarios(list string) (map[string]int, error) {
	return bench.ParseScenarioClients(list, scenarioOrder, defaultClients, "watch takes -watchers instead")
}

func run() int {
	o, err := parseFlags()
	if err != nil {
		return tool.Fail(2, err)
	}
	if o.serveBare != "" {
		return serveBare(o.serveBare)
	}
	ctx, dir, end, err := tool.Begin(o.tmp, o.keep) // see Begin for Ctrl+C
	if err != nil {
		return tool.Fail(1, err)
	}
	defer end()

	rep := report{Started: time.Now().UTC(), CPUs: runtime.NumCPU(), HeraldBinary: o.herald, LoadStart: bench.LoadAverage(),
		Duration: o.duration.String(), Rounds: o.rounds, Bare: o.bare}
	// Before the server starts, so that it inherits the limit.
	rep.OpenFiles, rep.OpenFilesMsg = tool.RaiseOpenFiles(o.openFiles)
	srv, err := startHerald(o.herald, dir, strings.Fields(o.heraldArgs))
	if err != nil {
		return tool.Fail(1, err)
	}
	defer srv.Stop()
	if err := srv.waitReady(ctx, o.startTimeout); err != nil {
		return tool.Abort(ctx, err)
	}
	tool.Logf("herald ready: HTTP %s, DNS %s", srv.HTTPAddr, srv.DNSAddr)

	if err := setup(ctx, o, srv); err != nil {
		return tool.Abort(ctx, err)
	}

	before, cpuOK := snapshotCPU(srv)
	dnsScenario := ""
	for _, name := range scenarioOrder {
		clients, ok := o.scenarios[name]
		if !ok {
			continue
		}
		var err error
		switch name {
		case "dns":
			dnsScenario = fmt.Sprintf("dns@%d", clients)
			err = runDNS(ctx, o, srv, dir, clients, &rep)
		case "health":
			err = runHealth(ctx, o, srv, clients, &rep)
		case "watch":
			err = runWatch(ctx, o, srv, &rep)
		case "register":
			err = runRegister(ctx, o, srv, clients, &rep)
		}
		if err == nil {
			err = srv.Alive()
		}
		if err != nil {
			return tool.Abort(ctx, fmt.Errorf("%s: %w", name, err))
		}
	}
	rep.LoadEnd = bench.LoadAverage()
	if after, ok := snapshotCPU(srv); ok && cpuOK {
		share := bench.ForeignShare(before, after)
		rep.ForeignCPU = &share
	}
	if b, err := srv.ProcStatus("VmHWM"); err == nil {
		rep.PeakRSS = b
	}
	srv.Stop()

	rep.compute(dnsScenario)
	rep.print(os.Stdout)
	if o.jsonPath != "" {
		if err := rep.writeJSON(o.jsonPath); err != nil {
			return tool.Fail(1, err)
		}
	}
	if o.strict && rep.missed() {
		return 3
	}
	return 0
}

// setup registers what the read scenarios need through the catalog, all
// passing: web with 10 instances on nodes n0..n9 and api with 30 on
// n0..n29, and waits until the health endpoint shows them.
func setup(ctx context.Context, o options, srv *server) error {
	_, dnsOn := o.scenarios["dns"]
	_, healthOn := o.scenarios["health"]
	_, watchOn := o.scenarios["watch"]
	c := bench.NewConsulHTTP(srv.HTTPAddr)
	defer c.Close()
	type svc struct {
		name string
		n    int
	}
	var want []svc
	if dnsOn {
		want = append(want, svc{dnsService, dnsInstances})
	}
	if healthOn || watchOn {
		want = append(want, svc{healthService, healthCount})
	}
	for _, s := range want {
		if err := c.RegisterInstances(ctx, s.name, s.n); err != nil {
			return fmt.Errorf("registering %s: %w", s.name, err)
		}
		err := srv.Poll(ctx, 10*time.Second, fmt.Sprintf("show %d passing instances of %s", s.n, s.name), func(ctx context.Context) error {
			n, passing, _, err := c.HealthService(ctx, s.name)
			if err == nil && (n != s.n || passing != s.n) {
				err = fmt.Errorf("%d instances, %d passing", n, passing)
			}
			return err
		})
		if err != nil {
			return err
		}
		tool.Logf("registered %d passing instances of %s", s.n, s.name)
	}
	return nil
}

// runDNS measures SRV lookups on Herald's DNS interface and on a bare
// server replaying Herald's own answer, in alternating slices.
func runDNS(ctx context.Context, o options, srv *server, dir string, clients int, rep *report) error {
	name := dnsService + ".service.consul."
	// The catalog projection serves DNS; poll until it has the instances.
	var answer *dns.Msg
	err := srv.Poll(ctx, 10*time.Second, "answer "+name+" SRV with 10 instances", func(ctx context.Context) error {
		m, err := bench.LookupOnce(ctx, srv.DNSAddr, name, dns.TypeSRV)
		if err == nil {
			err = bench.CheckSRVAnswer(m, dnsInstances)
		}
		answer = m
		return err
	})
	if err != nil {
		return err
	}
	wire, err := answer.Pack()
	if err != nil {
		return err
	}
	rep.DNSAnswer = fmt.Sprintf("%d SRV + %d additional (A and OPT), TTL 0, %d bytes", len(answer.Answer), len(answer.Extra), len(wire))

	bare, err := startBare(o.bare, dir, answer)
	if err != nil {
		return err
	}
	defer bare.close()
	m, err := bench.LookupOnce(ctx, bare.addr, name, dns.TypeSRV)
	if err == nil {
		err = bench.CheckSRVAnswer(m, dnsInstances)
	}
	if err != nil {
		return fmt.Errorf("the bare server's answer: %w", err)
	}

	scenario := fmt.Sprintf("dns@%d", clients)
	targets := []struct{ name, addr string }{{"herald", srv.DNSAddr}, {"bare", bare.addr}}
	parts := map[string][]bench.Result{}
	slice := o.duration / time.Duration(o.rounds)
	for r := range o.rounds {
		order := slices.Clone(targets)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			q := bench.DNSQuery{Addr: t.addr, Name: name, Type: dns.TypeSRV, Want: dnsInstances}
			if r == 0 && o.warmup > 0 {
				if _, err := bench.RunWorkload(ctx, bench.DNSWorkload(q, clients, o.warmup)); err != nil {
					return err
				}
			}
			res, err := bench.RunWorkload(ctx, bench.DNSWorkload(q, clients, slice))
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			parts[t.name] = append(parts[t.name], res)
			logSlice(scenario, t.name, fmt.Sprintf("slice %d/%d", r+1, o.rounds), res)
			if err := srv.Alive(); err != nil {
				return err
			}
		}
	}
	for _, t := range targets {
		rep.Results = append(rep.Results, row{Scenario: scenario, Target: t.name, Result: bench.Combine(parts[t.name]...)})
	}
	return nil
}

func logSlice(scenario, target, what string, res bench.Result) {
	tool.Logf("%-12s %-7s %s: %s", scenario, target, what, res.Progress("ops"))
}

// runMeasured runs w's warm-up then its measurement on Herald.
func runMeasured(ctx context.Context, o options, scenario string, w bench.Workload) (bench.Result, bench.Result, error) {
	warm, res, err := bench.RunMeasured(ctx, w, o.warmup, o.duration)
	if err != nil {
		return warm, res, err
	}
	logSlice(scenario, "herald", "measured", res)
	return warm, res, nil
}

// runHealth measures /v1/health/service/api with 30 instances.
func runHealth(ctx context.Context, o options, srv *server, clients int, rep *report) error {
	scenario := fmt.Sprintf("health@%d", clients)
	_, res, err := runMeasured(ctx, o, scenario, bench.HealthWorkload(srv.HTTPAddr, healthService, healthCount, clients, o.duration))
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, row{Scenario: scenario, Target: "herald", Result: res})
	return nil
}

// runRegister measures agent service registration, then reads how many of
// the registered services the catalog already holds.
func runRegister(ctx context.Context, o options, srv *server, clients int, rep *report) error {
	scenario := fmt.Sprintf("register@%d", clients)
	warm, res, err := runMeasured(ctx, o, scenario, bench.RegisterWorkload(srv.HTTPAddr, regService, clients, o.duration))
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, row{Scenario: scenario, Target: "herald", Result: res})
	g := &registerReport{Registered: int(warm.Ops + res.Ops)}
	c := bench.NewConsulHTTP(srv.HTTPAddr)
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if g.InCatalog, err = c.CatalogCount(cctx, regService); err != nil {
		g.Error = err.Error()
	}
	rep.Register = g
	return nil
}

// runWatch holds blocking queries on api's health, flips one instance's
// check to warning through the catalog, and times every watcher's answer.
func runWatch(ctx context.Context, o options, srv *server, rep *report) error {
	n, capNote, err := bench.ConnCap(o.watchers, "watchers", srv.Server)
	if err != nil {
		return err
	}
	if capNote != "" {
		tool.Logf("%s", capNote)
	}
	w := &watchReport{Asked: o.watchers, CapNote: capNote, Path: "/v1/health/service/" + healthService, Instances: healthCount}
	// Who had the CPUs while the watchers were woken.
	m := &bench.WakeMeter{Server: srv.Server}
	m.Start()
	c := bench.NewConsulHTTP(srv.HTTPAddr)
	defer c.Close()
	res, err := bench.Fanout(ctx, bench.FanoutConfig{
		Addr: srv.HTTPAddr, Path: w.Path, Watchers: n,
		Pending: func() (int, error) { return bench.UnreadTCP(srv.HTTPPort) },
		Before: func() {
			m.Before()
			tool.Logf("herald RSS %s before the watches, %s with them open", fmtMB(m.RSSBefore), fmtMB(m.RSSDuring))
		},
		Change: func(ctx context.Context) error { return c.RegisterInstance(ctx, healthService, 0, "warning") },
		After:  m.After,
		Logf:   tool.Logf,
	})
	w.FanoutResult = res
	w.RSSBefore, w.RSSDuring = m.RSSBefore, m.RSSDuring
	w.WakeWall, w.WakeHeraldCPU, w.WakeOwnCPU = m.Wall, m.ServerCPU, m.OwnCPU
	if err != nil {
		return err
	}
	tool.Logf("watch: %d of %d woken, p50 %s p99 %s max %s", res.Woken, res.Watchers, fmtDur(res.P50), fmtDur(res.P99), fmtDur(res.Max))
	rep.Watch = w
	// Put the check back, so that a later health read sees 30 passing.
	return c.RegisterInstance(ctx, healthService, 0, "passing")
}
