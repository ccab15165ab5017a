// Command discobench measures the discovery side of Herald on this
// machine: DNS SRV lookups against a bare DNS server answering the same
// records from memory, agent service registration, health reads of a
// 30-instance service, and a fan-out of blocking queries woken by one
// health change. It starts one persistent (fsync on) Herald server on free
// loopback ports and, when a `consul` binary is found, a persistent
// one-server Consul beside it, which gets the same services and the same
// load (DNS, health and register interleaved with Herald's, then its own
// watch fan-out); it prints a table with the targets Herald aims for, and
// stops the servers and removes their data when it ends, also on Ctrl+C.
//
// Usage, from the repository root after `make build`:
//
//	go run ./bench/cmd/discobench [-duration=10s] [-scenarios=dns,health,watch,register] [-watchers=20000] [-consul=PATH] [-json=FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
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
	consul       string // "" when no Consul runs
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
	flag.StringVar(&o.consul, "consul", "consul", "Consul binary, measured beside Herald in every scenario when found; empty for none")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario per target")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario per target")
	flag.IntVar(&o.rounds, "rounds", 2, "split the dns, health and register measurements into this many slices, alternating targets A B B A ...")
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
	flag.BoolVar(&bench.AcceptGzip, "gzip", true, "ask for gzipped answers, as Go's HTTP client (and so the official Consul client) does by default")
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
	// Consul is optional: without its binary the run goes on without it.
	if o.consul != "" {
		if o.consul, err = exec.LookPath(o.consul); err != nil {
			tool.Logf("no consul binary (%v): Consul is not measured", err)
			o.consul = ""
		}
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
	peers := []*peer{srv.peer()}
	if o.consul != "" {
		rep.ConsulBinary, rep.ConsulVersion = o.consul, bench.BinaryVersion(o.consul)
		_, dnsOn := o.scenarios["dns"]
		c, err := bench.StartConsul(o.consul, dir, dnsOn, consulExtra(o, rep.OpenFiles)...)
		if err != nil {
			return tool.Fail(1, err)
		}
		defer c.Stop()
		peers = append(peers, consulPeer(c))
	}
	for _, p := range peers {
		if err := p.waitReady(ctx, o.startTimeout); err != nil {
			return tool.Abort(ctx, err)
		}
		tool.Logf("%s ready: HTTP %s, DNS %s", p.name, p.httpAddr, p.dnsAddr)
	}

	for _, p := range peers {
		if err := setup(ctx, o, p); err != nil {
			return tool.Abort(ctx, err)
		}
	}

	before, cpuOK := snapshotCPU(peers)
	for idx, name := range scenarioOrder {
		clients, ok := o.scenarios[name]
		if !ok {
			continue
		}
		var err error
		switch name {
		case "dns":
			err = runDNS(ctx, o, peers, dir, clients, &rep)
		case "health":
			err = runHealth(ctx, o, peers, idx, clients, &rep)
		case "watch":
			// One change each, Herald first: the watchers of one are
			// closed before the other's are opened.
			for _, p := range peers {
				var w *watchReport
				if w, err = runWatch(ctx, o, p); err != nil {
					break
				}
				if p.name == "herald" {
					rep.Watch = w
				} else {
					rep.ConsulWatch = w
				}
			}
		case "register":
			err = runRegister(ctx, o, peers, idx, clients, &rep)
		}
		if err == nil {
			err = alive(peers)
		}
		if err != nil {
			return tool.Abort(ctx, fmt.Errorf("%s: %w", name, err))
		}
	}
	rep.LoadEnd = bench.LoadAverage()
	if after, ok := snapshotCPU(peers); ok && cpuOK {
		share := bench.ForeignShare(before, after)
		rep.ForeignCPU = &share
	}
	if b, err := srv.ProcStatus("VmHWM"); err == nil {
		rep.PeakRSS = b
	}
	if len(peers) > 1 {
		if b, err := peers[1].srv.ProcStatus("VmHWM"); err == nil {
			rep.ConsulPeakRSS = b
		}
	}
	for _, p := range peers {
		p.srv.Stop()
	}

	rep.compute()
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

// setup registers what the read scenarios need through p's catalog, all
// passing: web with 10 instances on nodes n0..n9 and api with 30 on
// n0..n29, and waits until the health endpoint shows them.
func setup(ctx context.Context, o options, p *peer) error {
	_, dnsOn := o.scenarios["dns"]
	_, healthOn := o.scenarios["health"]
	_, watchOn := o.scenarios["watch"]
	c := bench.NewConsulHTTP(p.httpAddr)
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
			return fmt.Errorf("registering %s on %s: %w", s.name, p.name, err)
		}
		err := p.srv.Poll(ctx, 10*time.Second, fmt.Sprintf("show %d passing instances of %s", s.n, s.name), func(ctx context.Context) error {
			n, passing, _, err := c.HealthService(ctx, s.name)
			if err == nil && (n != s.n || passing != s.n) {
				err = fmt.Errorf("%d instances, %d passing", n, passing)
			}
			return err
		})
		if err != nil {
			return err
		}
		tool.Logf("registered %d passing instances of %s on %s", s.n, s.name, p.name)
	}
	return nil
}

// runDNS measures SRV lookups on Herald's DNS interface, on a bare
// server replaying Herald's own answer and on Consul's DNS interface (when
// Consul runs), in alternating slices.
func runDNS(ctx context.Context, o options, peers []*peer, dir string, clients int, rep *report) error {
	name := dnsService + ".service.consul."
	// The catalog projection serves DNS; poll until it has the instances.
	var answers []*dns.Msg
	for _, p := range peers {
		var answer *dns.Msg
		err := p.srv.Poll(ctx, 10*time.Second, "answer "+name+" SRV with 10 instances", func(ctx context.Context) error {
			m, err := bench.LookupOnce(ctx, p.dnsAddr, name, dns.TypeSRV)
			if err == nil {
				err = bench.CheckSRVAnswer(m, dnsInstances)
			}
			answer = m
			return err
		})
		if err != nil {
			return err
		}
		answers = append(answers, answer)
	}
	wire, err := answers[0].Pack()
	if err != nil {
		return err
	}
	rep.DNSAnswer = fmt.Sprintf("%d SRV + %d additional (A and OPT), TTL 0, %d bytes", len(answers[0].Answer), len(answers[0].Extra), len(wire))
	if len(answers) > 1 {
		cw, err := answers[1].Pack()
		if err != nil {
			return err
		}
		rep.ConsulDNSAnswer = fmt.Sprintf("%d SRV + %d additional, %d bytes", len(answers[1].Answer), len(answers[1].Extra), len(cw))
	}

	bare, err := startBare(o.bare, dir, answers[0])
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

	// Herald, the bare server, then Consul: the bare server sits between
	// the two servers in every round.
	type target struct{ name, addr string }
	targets := []target{{"herald", peers[0].dnsAddr}, {"bare", bare.addr}}
	for _, p := range peers[1:] {
		targets = append(targets, target{p.name, p.dnsAddr})
	}
	scenario := fmt.Sprintf("dns@%d", clients)
	results, err := interleave(ctx, o, 0, scenario, len(targets), func(i int) string { return targets[i].name }, peers,
		func(ctx context.Context, i int, d time.Duration, _ bool) (bench.Result, error) {
			q := bench.DNSQuery{Addr: targets[i].addr, Name: name, Type: dns.TypeSRV, Want: dnsInstances}
			return bench.RunWorkload(ctx, bench.DNSWorkload(q, clients, d))
		})
	if err != nil {
		return err
	}
	for i, t := range targets {
		rep.Results = append(rep.Results, row{Scenario: scenario, Target: t.name, Result: results[i]})
	}
	return nil
}

// interleave measures n targets with bench.Interleave (o's duration,
// rounds and warm-up; shift odd starts with the last target), logs every
// measured slice, and checks after each that every server still runs.
func interleave(ctx context.Context, o options, shift int, scenario string, n int, name func(int) string, peers []*peer,
	measure func(ctx context.Context, target int, d time.Duration, warmup bool) (bench.Result, error)) ([]bench.Result, error) {
	iv := bench.Interleave{Duration: o.duration, Rounds: o.rounds, Warmup: o.warmup, Shift: shift}
	done := make([]int, n)
	return iv.Run(ctx, n, func(ctx context.Context, i int, d time.Duration, warmup bool) (bench.Result, error) {
		res, err := measure(ctx, i, d, warmup)
		if err != nil {
			return res, err
		}
		if !warmup && ctx.Err() == nil {
			done[i]++
			logSlice(scenario, name(i), fmt.Sprintf("slice %d/%d", done[i], o.rounds), res)
		}
		return res, alive(peers)
	})
}

func logSlice(scenario, target, what string, res bench.Result) {
	tool.Logf("%-12s %-7s %s: %s", scenario, target, what, res.Progress("ops"))
}

// runHealth measures /v1/health/service/api with 30 instances on every
// server, in alternating slices.
func runHealth(ctx context.Context, o options, peers []*peer, shift, clients int, rep *report) error {
	scenario := fmt.Sprintf("health@%d", clients)
	results, err := interleave(ctx, o, shift, scenario, len(peers), func(i int) string { return peers[i].name }, peers,
		func(ctx context.Context, i int, d time.Duration, _ bool) (bench.Result, error) {
			return bench.RunWorkload(ctx, bench.HealthWorkload(peers[i].httpAddr, healthService, healthCount, clients, d))
		})
	if err != nil {
		return err
	}
	for i, p := range peers {
		rep.Results = append(rep.Results, row{Scenario: scenario, Target: p.name, Result: results[i]})
	}
	return nil
}

// catchUpTimeout bounds the wait for a server's catalog to hold every
// service registered with its agent.
const catchUpTimeout = time.Minute

// runRegister measures agent service registration on every server, in
// alternating slices. After each slice it reads how many of the services
// registered so far the server's catalog holds, then waits until it holds
// them all, so that one server's background sync to its catalog does not
// load the machine while the other is measured.
func runRegister(ctx context.Context, o options, peers []*peer, shift, clients int, rep *report) error {
	scenario := fmt.Sprintf("register@%d", clients)
	regs := make([]registerReport, len(peers))
	results, err := interleave(ctx, o, shift, scenario, len(peers), func(i int) string { return peers[i].name }, peers,
		func(ctx context.Context, i int, d time.Duration, _ bool) (bench.Result, error) {
			res, err := bench.RunWorkload(ctx, bench.RegisterWorkload(peers[i].httpAddr, regService, clients, d))
			if err != nil || ctx.Err() != nil {
				return res, err
			}
			g := &regs[i]
			g.Registered += int(res.Ops)
			c := bench.NewConsulHTTP(peers[i].httpAddr)
			defer c.Close()
			if err := g.follow(ctx, c); err != nil {
				tool.Logf("%s %s: %v", scenario, peers[i].name, err)
			}
			return res, nil
		})
	if err != nil {
		return err
	}
	for i, p := range peers {
		rep.Results = append(rep.Results, row{Scenario: scenario, Target: p.name, Result: results[i]})
		regs[i].Target = p.name
		rep.Register = append(rep.Register, regs[i])
	}
	return nil
}

// follow reads how many of the g.Registered services the catalog holds
// now (InCatalog), then, if not all, polls until it holds them all
// (CatchUp, the time from the first read) or catchUpTimeout passes.
func (g *registerReport) follow(ctx context.Context, c *bench.ConsulHTTP) error {
	start := time.Now()
	g.CatchUp, g.CaughtUp, g.Error = 0, false, ""
	count := func() (int, error) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return c.CatalogCount(cctx, regService)
	}
	n, err := count()
	if err != nil {
		g.Error = err.Error()
		return err
	}
	g.InCatalog = n
	if n >= g.Registered {
		g.CaughtUp = true
		return nil
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for n < g.Registered {
		if time.Since(start) > catchUpTimeout {
			return fmt.Errorf("the catalog holds %d of %d registered services after %s", n, g.Registered, catchUpTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if n, err = count(); err != nil {
			g.Error = err.Error()
			return err
		}
	}
	g.CatchUp, g.CaughtUp = time.Since(start), true
	return nil
}

// runWatch holds blocking queries on api's health on p, flips one
// instance's check to warning through the catalog, and times every
// watcher's answer.
func runWatch(ctx context.Context, o options, p *peer) (*watchReport, error) {
	n, capNote, err := bench.ConnCap(o.watchers, "watchers", p.srv)
	if err != nil {
		return nil, err
	}
	if capNote != "" {
		tool.Logf("%s", capNote)
	}
	w := &watchReport{Target: p.name, Asked: o.watchers, CapNote: capNote, Path: "/v1/health/service/" + healthService, Instances: healthCount}
	// Who had the CPUs while the watchers were woken.
	m := &bench.WakeMeter{Server: p.srv}
	m.Start()
	c := bench.NewConsulHTTP(p.httpAddr)
	defer c.Close()
	res, err := bench.Fanout(ctx, bench.FanoutConfig{
		Addr: p.httpAddr, Path: w.Path, Watchers: n,
		Pending: func() (int, error) { return bench.UnreadTCP(p.httpPort) },
		Before: func() {
			m.Before()
			tool.Logf("%s RSS %s before the watches, %s with them open", p.name, fmtMB(m.RSSBefore), fmtMB(m.RSSDuring))
		},
		Change: func(ctx context.Context) error { return c.RegisterInstance(ctx, healthService, 0, "warning") },
		After:  m.After,
		Logf:   tool.Logf,
	})
	w.FanoutResult = res
	w.RSSBefore, w.RSSDuring = m.RSSBefore, m.RSSDuring
	w.WakeWall, w.WakeServerCPU, w.WakeOwnCPU = m.Wall, m.ServerCPU, m.OwnCPU
	if err != nil {
		return nil, err
	}
	tool.Logf("watch on %s: %d of %d woken, p50 %s p99 %s max %s", p.name, res.Woken, res.Watchers, fmtDur(res.P50), fmtDur(res.P99), fmtDur(res.Max))
	// Put the check back, so that a later health read sees 30 passing.
	return w, c.RegisterInstance(ctx, healthService, 0, "passing")
}
