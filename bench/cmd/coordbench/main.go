// Command coordbench measures the coordination side of Herald on this
// machine: 16 contenders taking one lock in turn through sessions, session
// create+destroy, and the fan-out of one KV change to 10,000 watchers, as
// blocking key-prefix queries over HTTP and as core subscriptions on
// Herald's NATS event stream. It starts one persistent (fsync on) Herald
// server on free loopback ports, runs the scenarios, prints a table, and
// stops the server and removes its data when it ends, also on Ctrl+C.
//
// Usage, from the repository root after `make build`:
//
//	go run ./bench/cmd/coordbench [-duration=10s] [-scenarios=lock,session,nats,watch] [-watchers=10000] [-subscribers=10000] [-json=FILE]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/watch"
	"github.com/nats-io/nats.go"
)

// The scenarios, in the order they run. The NATS fan-out runs before the
// HTTP one: the HTTP watchers leave Herald's heap much larger (their
// goroutines and buffers), which would hide the subscriptions' own memory
// in the RSS read before them.
var scenarioOrder = []string{"lock", "session", "nats", "watch"}

// defaultClients is each scenario's concurrency unless -scenarios says
// name@clients; watch and nats take -watchers and -subscribers.
var defaultClients = map[string]int{"lock": 16, "session": 16}

// The keys the scenarios use.
const (
	lockKey     = "bench/lock"
	watchPrefix = "bench/watch/"
	seedKey     = watchPrefix + "seed" // so that the prefix is never empty
	httpChange  = watchPrefix + "http" // written to wake the HTTP watchers
	natsChange  = watchPrefix + "nats" // written to reach the NATS subscribers
	agentNode   = "coordbench-agent"
)

type options struct {
	herald       string
	heraldArgs   string
	duration     time.Duration
	warmup       time.Duration
	scenarios    map[string]int // name -> clients (watch, nats: 0)
	watchers     int
	subscribers  int
	natsConns    int
	verify       bool
	openFiles    uint64
	jsonPath     string
	startTimeout time.Duration
	tmp          string
	keep, strict bool
}

// tool prefixes what coordbench says on stderr.
var tool = bench.Tool{Name: "coordbench"}

func main() { os.Exit(run()) }

func parseFlags() (options, error) {
	var o options
	var scenarios string
	flag.StringVar(&o.herald, "herald", "./bin/herald", "Herald binary (build: make build)")
	flag.StringVar(&o.heraldArgs, "herald-args", "", "extra space-separated arguments for `herald agent`")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of the lock and session scenarios")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before the lock and session scenarios")
	flag.StringVar(&scenarios, "scenarios", strings.Join(scenarioOrder, ","),
		"comma-separated scenarios, each name or name@clients: lock (default @16 contenders), session (@16), watch (see -watchers), nats (see -subscribers); they always run in the order "+strings.Join(scenarioOrder, ", "))
	flag.IntVar(&o.watchers, "watchers", 10000, "blocking key-prefix queries held open by the watch scenario")
	flag.IntVar(&o.subscribers, "subscribers", 10000, "NATS subscriptions of the nats scenario")
	flag.IntVar(&o.natsConns, "nats-conns", 100, "NATS connections the subscriptions are spread over")
	flag.BoolVar(&o.verify, "verify", true, "lock: read the key right after every acquisition and check it names the contender's session")
	flag.Uint64Var(&o.openFiles, "open-files", 65536, "open-file limit to raise this process (and the server it starts) to")
	flag.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.DurationVar(&o.startTimeout, "start-timeout", 30*time.Second, "how long the server may take to accept its first write and session")
	flag.StringVar(&o.tmp, "tmp", "", "parent of the temporary directory holding the server's data (default $TMPDIR or /tmp); on tmpfs fsync costs nothing")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data and server log) for inspection")
	flag.BoolVar(&o.strict, "strict", false, "exit with status 3 if a check fails (two lock holders at once, a watcher or subscriber not reached)")
	flag.Parse()

	var err error
	if o.scenarios, err = parseScenarios(scenarios); err != nil {
		return o, err
	}
	if o.duration <= 0 {
		return o, errors.New("-duration must be positive")
	}
	if _, ok := o.scenarios["watch"]; ok && o.watchers < 1 {
		return o, errors.New("-watchers must be at least 1")
	}
	if _, ok := o.scenarios["nats"]; ok && (o.subscribers < 1 || o.natsConns < 1) {
		return o, errors.New("-subscribers and -nats-conns must be at least 1")
	}
	if o.herald, err = exec.LookPath(o.herald); err != nil {
		return o, fmt.Errorf("herald binary not found (%v): build it with `make build` or pass -herald=PATH", err)
	}
	return o, nil
}

// parseScenarios reads "lock@8,session,watch".
func parseScenarios(list string) (map[string]int, error) {
	return bench.ParseScenarioClients(list, scenarioOrder, defaultClients, "watch and nats take -watchers and -subscribers instead")
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

	rep := report{Started: time.Now().UTC(), CPUs: runtime.NumCPU(), HeraldBinary: o.herald, Duration: o.duration.String()}
	// Before the server starts, so that it inherits the limit.
	rep.OpenFiles, rep.OpenFilesMsg = tool.RaiseOpenFiles(o.openFiles)
	srv, err := bench.StartHerald(bench.HeraldConfig{Bin: o.herald, Dir: dir, Node: agentNode, Extra: strings.Fields(o.heraldArgs)})
	if err != nil {
		return tool.Fail(1, err)
	}
	defer srv.Stop()
	if err := waitReady(ctx, srv, o.startTimeout); err != nil {
		return tool.Abort(ctx, err)
	}
	c := bench.NewConsulHTTP(srv.HTTPAddr)
	defer c.Close()
	if rep.Datacenter, err = c.Datacenter(ctx); err != nil {
		return tool.Abort(ctx, err)
	}
	tool.Logf("herald ready: HTTP %s, NATS %s, datacenter %s", srv.HTTPAddr, srv.NATSAddr, rep.Datacenter)

	before, cpuOK := bench.SnapshotCPU(srv.Pid())
	for _, name := range scenarioOrder {
		clients, ok := o.scenarios[name]
		if !ok {
			continue
		}
		var err error
		switch name {
		case "lock":
			err = runLock(ctx, o, srv, clients, &rep)
		case "session":
			err = runSession(ctx, o, srv, clients, &rep)
		case "watch":
			err = runHTTPWatch(ctx, o, srv, &rep)
		case "nats":
			err = runNATSWatch(ctx, o, srv, &rep)
		}
		if err == nil {
			err = srv.Alive()
		}
		if err != nil {
			return tool.Abort(ctx, fmt.Errorf("%s: %w", name, err))
		}
	}
	if after, ok := bench.SnapshotCPU(srv.Pid()); ok && cpuOK {
		share := bench.ForeignShare(before, after)
		rep.ForeignCPU = &share
	}
	if b, err := srv.ProcStatus("VmHWM"); err == nil {
		rep.PeakRSS = b
	}
	srv.Stop()

	rep.compute()
	rep.print(os.Stdout)
	if o.jsonPath != "" {
		if err := bench.WriteJSON(o.jsonPath, &rep); err != nil {
			return tool.Fail(1, err)
		}
	}
	if o.strict && bench.Missed(rep.Checks) {
		return 3
	}
	return 0
}

// waitReady polls until the agent accepts a write (a leader is elected and
// the log is writable) and a session (its own node is registered with a
// passing serfHealth check, which sessions depend on by default).
func waitReady(ctx context.Context, srv *bench.Herald, timeout time.Duration) error {
	kv := bench.NewConsulKV(srv.HTTPAddr, 1)
	defer kv.Close()
	return srv.WaitWrite(ctx, timeout, kv, "coordbench/ready", "accept a write and a session", func(ctx context.Context) error {
		return bench.CheckSession(ctx, srv.HTTPAddr)
	})
}

func logResult(scenario, what string, res bench.Result) {
	tool.Logf("%-11s %s: %s", scenario, what, res.Progress("ops"))
}

// runLock has the contenders take the lock in turn, after a warm-up with
// sessions of its own.
func runLock(ctx context.Context, o options, srv *bench.Herald, clients int, rep *report) error {
	scenario := fmt.Sprintf("lock@%d", clients)
	cfg := bench.LockConfig{Addr: srv.HTTPAddr, Key: lockKey, Contenders: clients, Verify: o.verify}
	if o.warmup > 0 {
		w := cfg
		w.Duration = o.warmup
		if _, err := bench.RunLocks(ctx, w); err != nil {
			return err
		}
	}
	cfg.Duration = o.duration
	res, err := bench.RunLocks(ctx, cfg)
	if err != nil {
		return err
	}
	logResult(scenario, "measured", res.Result)
	rep.Results = append(rep.Results, bench.Row{Scenario: scenario, Target: "herald", Result: res.Result})
	rep.Lock = &lockReport{Scenario: scenario, Key: lockKey, Verify: o.verify, Contenders: res.Contenders,
		Attempts: res.Attempts, Refused: res.Refused, Waits: res.Waits, Overlaps: res.Overlaps,
		Verified: res.Verified, Mismatches: res.Mismatches, MinCycles: res.MinCycles, MaxCycles: res.MaxCycles}
	return nil
}

// runSession creates and destroys sessions back to back.
func runSession(ctx context.Context, o options, srv *bench.Herald, clients int, rep *report) error {
	scenario := fmt.Sprintf("session@%d", clients)
	_, res, err := bench.RunMeasured(ctx, bench.SessionWorkload(srv.HTTPAddr, clients, o.duration), o.warmup, o.duration)
	if err != nil {
		return err
	}
	logResult(scenario, "measured", res)
	rep.Results = append(rep.Results, bench.Row{Scenario: scenario, Target: "herald", Result: res})
	return nil
}

// meterWake returns a bench.WakeMeter for f's fan-out, started, and the
// hook to run once every waiter is set: it logs the server's memory.
func meterWake(srv *bench.Herald, f *fanoutReport) (*bench.WakeMeter, func()) {
	m := &bench.WakeMeter{Server: srv.Server}
	m.Start()
	return m, func() {
		m.Before()
		tool.Logf("herald RSS %s before the %s, %s with them set", bench.FormatMB(m.RSSBefore), f.Unit, bench.FormatMB(m.RSSDuring))
	}
}

// setWake copies what m read into f.
func (f *fanoutReport) setWake(m *bench.WakeMeter) {
	f.RSSBefore, f.RSSDuring = m.RSSBefore, m.RSSDuring
	f.WakeWall, f.WakeHeraldCPU, f.WakeOwnCPU = m.Wall, m.ServerCPU, m.OwnCPU
}

// runHTTPWatch holds blocking key-prefix queries on bench/watch/, writes
// one key under it, and times every watcher's answer.
func runHTTPWatch(ctx context.Context, o options, srv *bench.Herald, rep *report) error {
	n, capNote, err := bench.ConnCap(o.watchers, "watchers", srv.Server)
	if err != nil {
		return err
	}
	if capNote != "" {
		tool.Logf("%s", capNote)
	}
	kv := bench.NewConsulKV(srv.HTTPAddr, 1)
	defer kv.Close()
	if err := kv.Put(ctx, seedKey, []byte("seed")); err != nil {
		return err
	}
	f := &fanoutReport{Kind: "http", Unit: "watches", Asked: o.watchers, CapNote: capNote,
		What: fmt.Sprintf("blocking queries GET /v1/kv/%s?recurse&index=N&wait=5m, one connection each", watchPrefix)}
	m, set := meterWake(srv, f)
	res, err := bench.FanoutQuery(ctx, bench.FanoutConfig{
		Addr: srv.HTTPAddr, Path: "/v1/kv/" + watchPrefix, Watchers: n,
		Pending: func() (int, error) { return bench.UnreadTCP(srv.HTTPPort) },
		Before:  set,
		Change:  func(ctx context.Context) error { return kv.Put(ctx, httpChange, []byte(time.Now().String())) },
		After:   m.After,
		Logf:    tool.Logf,
	}, "recurse")
	f.FanoutResult = res
	f.setWake(m)
	if err != nil {
		return err
	}
	tool.Logf("watch: %d of %d woken, p50 %s p99 %s max %s", res.Woken, res.Watchers,
		bench.FormatDuration(res.P50), bench.FormatDuration(res.P99), bench.FormatDuration(res.Max))
	rep.HTTPWatch = f
	return nil
}

// kvEvent is the part of a Herald event the NATS subscribers check.
type kvEvent struct {
	Type  string
	Index uint64
	Key   string
}

// runNATSWatch subscribes to the event stream's subject for bench/watch/
// many times over, writes one key under the prefix, and times every
// subscriber's receipt of its event.
func runNATSWatch(ctx context.Context, o options, srv *bench.Herald, rep *report) error {
	subject := strings.TrimSuffix(watch.StreamSubjects(rep.Datacenter, "kv"), ">") +
		watch.KeyTokens(strings.TrimSuffix(watchPrefix, "/")) + ".>"
	c := bench.NewConsulHTTP(srv.HTTPAddr)
	defer c.Close()
	kv := bench.NewConsulKV(srv.HTTPAddr, 1)
	defer kv.Close()
	conns := min(o.natsConns, o.subscribers)
	f := &fanoutReport{Kind: "nats", Unit: "subscriptions", Asked: o.subscribers, Conns: conns, Subject: subject,
		What: fmt.Sprintf("core subscriptions on %s over %d connections", subject, conns)}
	m, set := meterWake(srv, f)
	var base atomic.Uint64 // the prefix's index before the change: its event must be past it
	res, err := bench.NATSFanout(ctx, bench.NATSFanoutConfig{
		URL: srv.NATSURL(), Subject: subject, Subscribers: o.subscribers, Conns: conns, Addr: srv.HTTPAddr,
		Check: func(msg *nats.Msg) error {
			var e kvEvent
			if err := json.Unmarshal(msg.Data, &e); err != nil {
				return fmt.Errorf("event on %s: %w", msg.Subject, err)
			}
			if b := base.Load(); e.Type != "kv.updated" || e.Key != natsChange || e.Index <= b {
				return fmt.Errorf("event on %s: %s of %q at index %d, want kv.updated of %q past %d",
					msg.Subject, e.Type, e.Key, e.Index, natsChange, b)
			}
			return nil
		},
		Before: func() {
			if b, err := c.PrefixIndex(ctx, watchPrefix); err != nil {
				tool.Logf("cannot read the index of %s: %v", watchPrefix, err)
			} else {
				base.Store(b)
			}
			set()
		},
		Change: func(ctx context.Context) error { return kv.Put(ctx, natsChange, []byte(time.Now().String())) },
		After:  m.After,
		Logf:   tool.Logf,
	})
	res.Index = base.Load()
	f.FanoutResult = res
	f.setWake(m)
	if err != nil {
		return err
	}
	tool.Logf("nats: %d of %d reached, p50 %s p99 %s max %s", res.Woken, res.Watchers,
		bench.FormatDuration(res.P50), bench.FormatDuration(res.P99), bench.FormatDuration(res.Max))
	rep.NATSWatch = f
	return nil
}
