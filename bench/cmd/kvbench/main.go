// Command kvbench compares Herald with etcd (and with Consul, when a
// `consul` binary is on PATH) on this machine: it starts a one-server
// Herald, a one-member etcd and a one-server Consul, all persisting with
// fsync, on free loopback ports, runs the same key/value scenarios against
// them, each called as its users call it (etcd through its native gRPC
// client, Herald and Consul through Consul's KV HTTP API),
// interleaved to spread machine noise, prints latency and throughput side
// by side with the targets Herald aims for, and measures an idle
// `herald agent -dev`'s memory. Everything it starts is stopped and its
// temporary directories removed when it ends, also on Ctrl+C.
//
// Usage, from the repository root after `go build -o bin/herald ./cmd/herald`:
//
//	go run ./bench/cmd/kvbench [-duration=10s] [-scenarios=put@1,put@64,get@32] [-json=FILE]
//
// With -only=etcd it runs without a Herald binary, to check the harness.
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
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/bench"
)

// options are the command-line flags.
type options struct {
	herald, etcd string
	consul       string // "" when no Consul runs
	heraldBefore string // a second Herald binary measured beside the first, or ""
	heraldArgs   string
	only         string
	duration     time.Duration
	warmup       time.Duration
	rounds       int
	scenarios    []bench.Scenario
	keys         int
	valueSize    int
	jsonPath     string
	rss          bool
	idle         time.Duration
	startTimeout time.Duration
	keep, strict bool
	tmp          string
}

// tool prefixes what kvbench says on stderr.
var tool = bench.Tool{Name: "kvbench"}

func main() { os.Exit(run()) }

func parseFlags() (options, error) {
	var o options
	var scenarios string
	flag.StringVar(&o.herald, "herald", "./bin/herald", "Herald binary (build: go build -o bin/herald ./cmd/herald)")
	flag.StringVar(&o.etcd, "etcd", "/usr/bin/etcd", "etcd binary (Debian: apt-get install etcd-server)")
	flag.StringVar(&o.heraldBefore, "herald-before", "", "a second Herald binary (say, the build before a change) measured in the same run as herald-before")
	flag.StringVar(&o.heraldArgs, "herald-args", "", "extra space-separated arguments for every `herald agent` started")
	flag.StringVar(&o.consul, "consul", "consul", "Consul binary, measured beside the others when found; empty for none")
	flag.StringVar(&o.only, "only", "", "run one target only: etcd, herald or consul (default all found)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario per target")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario per target")
	flag.IntVar(&o.rounds, "rounds", 2, "split each measurement into this many slices, alternating targets A B B A ...")
	flag.StringVar(&scenarios, "scenarios", "put@1,put@64,get@32", "comma-separated op@clients list; op is put or get")
	flag.IntVar(&o.keys, "keys", bench.DefaultKeys, "keyspace size; gets read keys preloaded before measuring")
	flag.IntVar(&o.valueSize, "value-size", bench.DefaultValueSize, "bytes per value")
	flag.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.BoolVar(&o.rss, "rss", true, "measure the resident memory of an idle `herald agent -dev`")
	flag.DurationVar(&o.idle, "idle", 2*time.Second, "how long the -dev agent idles before its memory is read")
	flag.DurationVar(&o.startTimeout, "start-timeout", 30*time.Second, "how long a server may take to accept its first write")
	flag.StringVar(&o.tmp, "tmp", "", "parent of the temporary directory holding both servers' data (default $TMPDIR or /tmp); on tmpfs fsync costs nothing")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data and server logs) for inspection")
	flag.BoolVar(&o.strict, "strict", false, "exit with status 3 if a target is missed")
	flag.Parse()

	var err error
	if o.scenarios, err = bench.ParseScenarios(scenarios); err != nil {
		return o, err
	}
	if o.only != "" && o.only != "etcd" && o.only != "herald" && o.only != "consul" {
		return o, fmt.Errorf("-only=%q: want etcd, herald or consul", o.only)
	}
	if o.rounds < 1 || o.duration < time.Duration(o.rounds)*time.Millisecond {
		return o, errors.New("-rounds must be at least 1 and -duration long enough to split")
	}
	// Fail before starting anything if a binary is missing, saying how to
	// get it.
	// Consul is optional: without its binary the run goes on without it,
	// unless it was asked for alone.
	if o.consul != "" && (o.only == "" || o.only == "consul") {
		if o.consul, err = exec.LookPath(o.consul); err != nil {
			if o.only == "consul" {
				return o, fmt.Errorf("consul not found (%v): pass -consul=PATH", err)
			}
			tool.Logf("no consul binary on PATH: Consul is not measured")
			o.consul = ""
		}
	} else {
		o.consul = ""
	}
	if o.only == "" || o.only == "etcd" {
		if o.etcd, err = exec.LookPath(o.etcd); err != nil {
			return o, fmt.Errorf("etcd not found (%v): install it with `apt-get install etcd-server`, pass -etcd=PATH, or use -only=herald", err)
		}
	}
	if o.only == "" || o.only == "herald" {
		if o.herald, err = exec.LookPath(o.herald); err != nil {
			return o, fmt.Errorf("herald binary not found (%v): build it with `go build -o bin/herald ./cmd/herald`, pass -herald=PATH, or use -only=etcd", err)
		}
		if o.heraldBefore != "" {
			if o.heraldBefore, err = exec.LookPath(o.heraldBefore); err != nil {
				return o, fmt.Errorf("-herald-before: %v", err)
			}
		}
	}
	return o, nil
}

// kvTarget is a bench.Target whose idle connections can be released.
type kvTarget interface {
	bench.Target
	Close()
}

// contender is one server under test.
type contender struct {
	name   string
	srv    *server
	target func(concurrency int) (kvTarget, error)
}

func run() int {
	o, err := parseFlags()
	if err != nil {
		return tool.Fail(2, err)
	}
	ctx, dir, end, err := tool.Begin(o.tmp, o.keep) // see Begin for Ctrl+C
	if err != nil {
		return tool.Fail(1, err)
	}
	defer end()
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()

	rep := report{
		Started: time.Now().UTC(), CPUs: runtime.NumCPU(),
		Duration: o.duration.String(), Rounds: o.rounds, Keys: o.keys, ValueSize: o.valueSize,
		PeakRSS: map[string]int64{}, LoadStart: bench.LoadAverage(),
	}
	extra := strings.Fields(o.heraldArgs)

	// Start every server before waiting for any: their start-ups overlap.
	var cs []*contender
	if o.only == "" || o.only == "etcd" {
		rep.EtcdVersion = bench.BinaryVersion(o.etcd)
		s, err := startEtcd(o.etcd, dir)
		if err != nil {
			return tool.Fail(1, err)
		}
		servers = append(servers, s)
		// One client for all callers, as an application holds one:
		// its calls share one HTTP/2 connection, a stream each.
		cs = append(cs, &contender{name: "etcd", srv: s,
			target: func(int) (kvTarget, error) { return bench.NewEtcdKV(s.addr) }})
	}
	if o.consul != "" {
		rep.ConsulVersion = bench.BinaryVersion(o.consul)
		c, err := bench.StartConsul(o.consul, dir, false)
		if err != nil {
			return tool.Fail(1, err)
		}
		s := &server{Server: c.Server, addr: c.HTTPAddr}
		servers = append(servers, s)
		cs = append(cs, &contender{name: "consul", srv: s,
			target: func(n int) (kvTarget, error) { return bench.NewConsulKV(s.addr, n), nil }})
	}
	if o.only == "" || o.only == "herald" {
		rep.HeraldBinary = o.herald
		heralds := [][2]string{{"herald", o.herald}}
		if o.heraldBefore != "" {
			rep.HeraldBeforeBinary = o.heraldBefore
			heralds = append(heralds, [2]string{"herald-before", o.heraldBefore})
		}
		for _, h := range heralds {
			s, err := startHerald(h[0], h[1], dir, false, extra)
			if err != nil {
				return tool.Fail(1, err)
			}
			servers = append(servers, s)
			cs = append(cs, &contender{name: h[0], srv: s,
				target: func(n int) (kvTarget, error) { return bench.NewConsulKV(s.addr, n), nil }})
		}
	}
	for _, c := range cs {
		t, err := c.target(1)
		if err != nil {
			return tool.Abort(ctx, fmt.Errorf("%s client: %w", c.name, err))
		}
		err = c.srv.waitReady(ctx, t, o.startTimeout)
		t.Close()
		if err != nil {
			return tool.Abort(ctx, err)
		}
		tool.Logf("%s ready on %s", c.name, c.srv.addr)
	}

	// Gets must find their keys; puts overwrite the same keyspace, so one
	// preload serves every scenario.
	if slices.ContainsFunc(o.scenarios, func(s bench.Scenario) bool { return s.Op == bench.OpGet }) {
		for _, c := range cs {
			t, err := c.target(32)
			if err != nil {
				return tool.Abort(ctx, fmt.Errorf("%s client: %w", c.name, err))
			}
			err = bench.Preload(ctx, t, bench.Config{Concurrency: 32, Keys: o.keys, ValueSize: o.valueSize})
			t.Close()
			if err != nil {
				return tool.Abort(ctx, fmt.Errorf("preloading %s: %w", c.name, err))
			}
		}
		tool.Logf("preloaded %d keys", o.keys)
	}

	before, cpuOK := snapshotCPU(servers)
	for i, sc := range o.scenarios {
		res, err := runScenario(ctx, o, i, sc, cs)
		if err != nil {
			return tool.Abort(ctx, err)
		}
		rep.Results = append(rep.Results, res.rows...)
		rep.CPU = append(rep.CPU, res.cpu...)
	}

	rep.LoadEnd = bench.LoadAverage()
	if after, ok := snapshotCPU(servers); ok && cpuOK {
		share := bench.ForeignShare(before, after)
		rep.ForeignCPU = &share
	}

	// Peak memory under load, before the servers go away.
	for _, c := range cs {
		if b, err := c.srv.ProcStatus("VmHWM"); err == nil {
			rep.PeakRSS[c.name] = b
		}
	}
	for _, s := range servers {
		s.Stop()
	}

	if (o.only == "" || o.only == "herald") && o.rss {
		rss, err := idleRSS(ctx, o, dir, extra, &servers)
		if err != nil {
			tool.Logf("idle RSS: %v", err)
			if ctx.Err() != nil {
				return tool.ExitCode(ctx, 1)
			}
		}
		rep.HeraldIdleRSS = rss
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

// runScenario measures one scenario on every contender. Each measurement is
// split into o.rounds slices and the contenders take turns, A B then B A,
// shifting the first turn from scenario to scenario, so a burst of
// background load or a drift in CPU clock hits both alike.
func runScenario(ctx context.Context, o options, idx int, sc bench.Scenario, cs []*contender) (scenarioResult, error) {
	targets := map[string]kvTarget{}
	parts := map[string][]bench.Result{}
	ticks := map[string]uint64{} // each server's CPU over its measured slices
	for _, c := range cs {
		t, err := c.target(sc.Concurrency)
		if err != nil {
			return scenarioResult{}, fmt.Errorf("%s client: %w", c.name, err)
		}
		targets[c.name] = t
		defer t.Close()
	}
	cfg := bench.Config{Op: sc.Op, Concurrency: sc.Concurrency, Keys: o.keys, ValueSize: o.valueSize}
	slice := o.duration / time.Duration(o.rounds)
	for r := range o.rounds {
		order := slices.Clone(cs)
		if (idx+r)%2 == 1 {
			slices.Reverse(order)
		}
		for _, c := range order {
			t := targets[c.name]
			if r == 0 && o.warmup > 0 {
				// Opens the connections and warms caches; not measured.
				wcfg := cfg
				wcfg.Duration = o.warmup
				bench.Run(ctx, t, wcfg)
			}
			mcfg := cfg
			mcfg.Duration = slice
			pid := strconv.Itoa(c.srv.Pid())
			before := bench.ProcTicks(pid)
			res := bench.Run(ctx, t, mcfg)
			ticks[c.name] += bench.ProcTicks(pid) - before
			if ctx.Err() != nil {
				return scenarioResult{}, ctx.Err()
			}
			parts[c.name] = append(parts[c.name], res)
			tool.Logf("%-8s %-6s slice %d/%d: %s", sc, c.name, r+1, o.rounds, res.Progress("ops"))
			if c.srv != nil {
				select {
				case <-c.srv.Exited():
					return scenarioResult{}, fmt.Errorf("%s exited during %s (%v); its log:\n%s", c.name, sc, c.srv.Err(), c.srv.Tail(20))
				default:
				}
			}
		}
	}
	var out scenarioResult
	for _, c := range cs {
		r := bench.Combine(parts[c.name]...)
		out.rows = append(out.rows, row{Scenario: sc.String(), Target: c.name, Result: r})
		out.cpu = append(out.cpu, cpuUse{Scenario: sc.String(), Target: c.name, Ticks: ticks[c.name], Ops: r.Ops})
	}
	return out, nil
}

// scenarioResult is one scenario's rows and its servers' CPU use.
type scenarioResult struct {
	rows []row
	cpu  []cpuUse
}

// snapshotCPU reads the machine's CPU counters, counting kvbench and its
// servers as its own.
func snapshotCPU(servers []*server) (bench.CPUSnapshot, bool) {
	pids := make([]int, len(servers))
	for i, s := range servers {
		pids[i] = s.Pid()
	}
	return bench.SnapshotCPU(pids...)
}

// idleRSS starts `herald agent -dev`, waits until it accepts a write, lets
// it idle for o.idle so start-up garbage can be collected, and reads its
// resident set size.
func idleRSS(ctx context.Context, o options, dir string, extra []string, servers *[]*server) (int64, error) {
	s, err := startHerald("herald-dev", o.herald, dir, true, extra)
	if err != nil {
		return 0, err
	}
	*servers = append(*servers, s)
	defer s.Stop()
	t := bench.NewConsulKV(s.addr, 1)
	err = s.waitReady(ctx, t, o.startTimeout)
	t.Close()
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-s.Exited():
		return 0, fmt.Errorf("herald -dev exited while idle (%v); its log:\n%s", s.Err(), s.Tail(20))
	case <-time.After(o.idle):
	}
	return s.ProcStatus("VmRSS")
}
