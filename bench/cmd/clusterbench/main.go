// Command clusterbench measures a three-server Herald cluster on this
// machine: KV writes through a client agent and straight to the leader
// against a three-member etcd under the same load, DNS SRV lookups
// answered by a client agent against the same lookups on a server, and how
// long writes through the client agent stop when the leader is killed
// (kill -9, ten times, the killed server restarted and the cluster healthy
// again before the next). Every server persists with fsync on; everything
// it starts is stopped and its temporary directory removed when it ends,
// also on Ctrl+C.
//
// Usage, from the repository root after `make build`:
//
//	go run ./bench/cmd/clusterbench [-duration=8s] [-scenarios=put,dns,watch,failover] [-kills=10] [-watchers=20000] [-json=FILE]
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

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/bench"
)

// The scenarios, in the order they run: failover last, as it leaves
// the cluster with other leaders and restarted servers.
var scenarioOrder = []string{"put", "dns", "watch", "failover"}

// What the scenarios use.
const (
	servers      = 3
	dnsService   = "web"
	failoverKey  = "clusterbench/failover"
	etcdReadyKey = "clusterbench/ready"
)

type options struct {
	herald, etcd    string
	heraldArgs      string
	natsCluster     bool
	etcdMembers     int
	scenarios       []string
	duration        time.Duration
	warmup          time.Duration
	rounds          int
	putClients      int
	keys, valueSize int
	dnsClients      int
	instances       int
	watchers        int
	watchClients    int
	openFiles       uint64
	kills           int
	kill            string // "kv" or "catalog": which shard's leader is killed
	writeTimeout    time.Duration
	retryPause      time.Duration
	failoverTimeout time.Duration
	healTimeout     time.Duration
	startTimeout    time.Duration
	jsonPath        string
	tmp             string
	keep, strict    bool
}

// tool prefixes what clusterbench says on stderr; its progress lines carry
// the time, to be read against the servers' logs.
var tool = bench.Tool{Name: "clusterbench", Stamp: true}

func main() { os.Exit(run()) }

func parseFlags() (options, error) {
	var o options
	var scenarios string
	flag.StringVar(&o.herald, "herald", "./bin/herald", "Herald binary (build: make build)")
	flag.StringVar(&o.etcd, "etcd", "/usr/bin/etcd", "etcd binary (Debian: apt-get install etcd-server)")
	flag.StringVar(&o.heraldArgs, "herald-args", "", "extra space-separated arguments for every `herald agent` started")
	flag.BoolVar(&o.natsCluster, "nats-cluster", false, "make the servers' embedded NATS servers one NATS cluster with the event streams replicated over it (each server then binds an address of its own, 127.0.7.1-3), as servers on separate hosts are by default; without it every server is on 127.0.0.1 with a NATS server of its own")
	flag.IntVar(&o.etcdMembers, "etcd-members", 3, "members of the etcd cluster put is compared with")
	flag.StringVar(&scenarios, "scenarios", "put,dns,failover", "comma-separated scenarios: put, dns, watch, failover (they always run in this order)")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "measured time per target in put and dns")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each target's first slice")
	flag.IntVar(&o.rounds, "rounds", 2, "split each measurement into this many slices, alternating targets A B B A ...")
	flag.IntVar(&o.putClients, "put-clients", 64, "concurrent writers of put")
	flag.IntVar(&o.keys, "keys", bench.DefaultKeys, "keyspace of put")
	flag.IntVar(&o.valueSize, "value-size", bench.DefaultValueSize, "bytes per value of put")
	flag.IntVar(&o.dnsClients, "dns-clients", 32, "concurrent UDP clients of dns")
	flag.IntVar(&o.instances, "instances", 10, "passing instances of the service dns looks up")
	flag.IntVar(&o.watchers, "watchers", 20000, "watch: blocking queries on one key, spread over the client agents")
	flag.IntVar(&o.watchClients, "watch-clients", 3, "watch: client agents the watchers are spread over (the cluster then has that many)")
	flag.Uint64Var(&o.openFiles, "open-files", 65536, "watch: open-file limit to raise this process (and the agents it starts) to")
	flag.IntVar(&o.kills, "kills", 10, "leader kills of failover")
	flag.StringVar(&o.kill, "kill", "kv", "whose leader failover kills: kv (the kv shard's, which KV writes need) or catalog (the one /v1/status/leader names)")
	flag.DurationVar(&o.writeTimeout, "write-timeout", 500*time.Millisecond, "failover: timeout of every write through the client agent")
	flag.DurationVar(&o.retryPause, "retry-pause", 10*time.Millisecond, "failover: pause after a failed write before the next")
	flag.DurationVar(&o.failoverTimeout, "failover-timeout", 60*time.Second, "failover: give up when no write succeeded this long after a kill")
	flag.DurationVar(&o.healTimeout, "heal-timeout", 90*time.Second, "how long a restarted server may take to be back as a voter in a healthy cluster")
	flag.DurationVar(&o.startTimeout, "start-timeout", 60*time.Second, "how long the clusters may take to form")
	flag.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.tmp, "tmp", "", "parent of the temporary directory holding the servers' data (default $TMPDIR or /tmp); on tmpfs fsync costs nothing")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data and logs) for inspection")
	flag.BoolVar(&o.strict, "strict", false, "exit with status 3 if a check is missed")
	flag.Parse()

	for _, f := range strings.Split(scenarios, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(scenarioOrder, f) {
			return o, fmt.Errorf("scenario %q: want one of %s", f, strings.Join(scenarioOrder, ", "))
		}
		o.scenarios = append(o.scenarios, f)
	}
	switch {
	case len(o.scenarios) == 0:
		return o, errors.New("no scenarios")
	case o.rounds < 1 || o.duration < time.Duration(o.rounds)*time.Millisecond:
		return o, errors.New("-rounds must be at least 1 and -duration long enough to split")
	case o.putClients < 1 || o.dnsClients < 1 || o.instances < 1 || o.kills < 1 || o.etcdMembers < 1 || o.watchers < 1 || o.watchClients < 1:
		return o, errors.New("-put-clients, -dns-clients, -instances, -kills, -etcd-members, -watchers and -watch-clients must be at least 1")
	case o.kill != "kv" && o.kill != "catalog":
		return o, fmt.Errorf("-kill=%q: want kv or catalog", o.kill)
	case o.writeTimeout <= 0:
		return o, errors.New("-write-timeout must be positive")
	}
	var err error
	if o.on("put") {
		if o.etcd, err = exec.LookPath(o.etcd); err != nil {
			return o, fmt.Errorf("etcd not found (%v): install it with `apt-get install etcd-server`, pass -etcd=PATH, or leave put out of -scenarios", err)
		}
	}
	if o.herald, err = exec.LookPath(o.herald); err != nil {
		return o, fmt.Errorf("herald binary not found (%v): build it with `make build` or pass -herald=PATH", err)
	}
	return o, nil
}

// on reports whether scenario is to run.
func (o options) on(scenario string) bool { return slices.Contains(o.scenarios, scenario) }

// bed is everything clusterbench started.
type bed struct {
	c    *cluster
	etcd []*bench.Etcd
}

// procs are the processes running now.
func (b *bed) procs() []*bench.Server {
	var out []*bench.Server
	if b.c != nil {
		for _, h := range b.c.all() {
			if h != nil {
				out = append(out, h.Server)
			}
		}
	}
	for _, e := range b.etcd {
		out = append(out, e.Server)
	}
	return out
}

// snapshotCPU reads the machine's CPU counters, counting clusterbench,
// everything it started and the servers it killed as its own.
func (b *bed) snapshotCPU() (bench.CPUSnapshot, bool) {
	var pids []int
	for _, s := range b.procs() {
		pids = append(pids, s.Pid())
	}
	c, ok := bench.SnapshotCPU(pids...)
	if b.c != nil {
		c.Own += b.c.retired
	}
	return c, ok
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
	b := &bed{}
	defer func() { stopAll(b.procs()) }()

	rep := report{Started: time.Now().UTC(), CPUs: runtime.NumCPU(), HeraldBinary: o.herald, LoadStart: bench.LoadAverage(),
		Duration: o.duration.String(), Rounds: o.rounds, Servers: servers, Noise: map[string]float64{}}

	// Start both clusters before waiting for either: their start-ups
	// overlap.
	if o.on("put") {
		rep.EtcdVersion = bench.BinaryVersion(o.etcd)
		rep.EtcdMembers = o.etcdMembers
		if b.etcd, err = bench.StartEtcd(o.etcd, dir, o.etcdMembers); err != nil {
			return tool.Fail(1, err)
		}
	}
	clients := 1
	if o.on("watch") {
		// Before the agents start: they inherit the limit.
		rep.OpenFiles, rep.OpenFilesMsg = tool.RaiseOpenFiles(o.openFiles)
		clients = o.watchClients
	}
	extra := append([]string{"-log-level=warn"}, strings.Fields(o.heraldArgs)...)
	ccfg := bench.ClusterConfig{Bin: o.herald, Dir: dir, Servers: servers, Clients: clients, DNS: true, Extra: extra}
	if o.natsCluster {
		// Herald takes no NATS route to its own address: servers on one
		// host need an address each.
		ccfg.NATSCluster = true
		for i := range servers {
			ccfg.ServerAddrs = append(ccfg.ServerAddrs, fmt.Sprintf("127.0.7.%d", i+1))
		}
	}
	rep.NATSCluster = o.natsCluster
	ss, cs, err := bench.StartHeraldCluster(ccfg)
	if err != nil {
		return tool.Fail(1, err)
	}
	b.c = &cluster{servers: ss, client: cs[0], more: cs[1:], natsCluster: o.natsCluster}

	if err := waitEtcd(ctx, b.etcd, o.startTimeout); err != nil {
		return tool.Abort(ctx, err)
	}
	l, err := b.c.start(ctx, o.startTimeout)
	if err != nil {
		return tool.Abort(ctx, err)
	}
	rep.StartLeaders = b.c.leaderNames(l)
	tool.Logf("herald ready: servers %s, client %s (HTTP %s, DNS %s); catalog leader %s, kv leader %s",
		strings.Join(b.c.nodes(), " "), b.c.client.Config.Node, b.c.client.HTTPAddr, b.c.client.DNSAddr,
		rep.StartLeaders.Catalog, rep.StartLeaders.KV)

	allBefore, cpuOK := b.snapshotCPU()
	for _, name := range scenarioOrder {
		if !o.on(name) {
			continue
		}
		before, _ := b.snapshotCPU()
		var err error
		switch name {
		case "put":
			err = runPut(ctx, o, b, &l, &rep)
		case "dns":
			err = runDNS(ctx, o, b.c, l, &rep)
		case "watch":
			err = runWatch(ctx, o, b.c, l, &rep)
		case "failover":
			err = runFailover(ctx, o, b.c, &l, &rep)
		}
		if after, ok := b.snapshotCPU(); ok && cpuOK {
			rep.Noise[name] = bench.ForeignShare(before, after)
		}
		if err != nil {
			code := tool.Fail(1, fmt.Errorf("%s: %w", name, err))
			if ctx.Err() != nil || name != "failover" {
				return tool.ExitCode(ctx, code)
			}
			// A failover that went wrong still has kills to report.
			rep.FailoverError = err.Error()
		}
	}
	rep.LoadEnd = bench.LoadAverage()
	if after, ok := b.snapshotCPU(); ok && cpuOK {
		share := bench.ForeignShare(allBefore, after)
		rep.ForeignCPU = &share
	}
	stopAll(b.procs())

	rep.compute()
	rep.print(os.Stdout)
	if o.jsonPath != "" {
		if err := bench.WriteJSON(o.jsonPath, rep); err != nil {
			return tool.Fail(1, err)
		}
	}
	if rep.FailoverError != "" {
		return 1
	}
	if o.strict && bench.Missed(rep.Checks) {
		return 3
	}
	return 0
}

// waitEtcd waits until every member accepts a write, all within timeout
// (the members start together, so one deadline serves them all).
func waitEtcd(ctx context.Context, members []*bench.Etcd, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, m := range members {
		kv, err := bench.NewEtcdKV(m.ClientAddr)
		if err != nil {
			return err
		}
		err = m.WaitWrite(ctx, timeout, kv, etcdReadyKey, "accept a write", nil)
		kv.Close()
		if err != nil {
			return err
		}
	}
	if len(members) > 0 {
		tool.Logf("etcd ready: %d members", len(members))
	}
	return nil
}

// start waits until the cluster is healthy, reading its datacenter on
// the way.
func (c *cluster) start(ctx context.Context, timeout time.Duration) (leaders, error) {
	t0 := time.Now()
	h := bench.NewConsulHTTP(c.servers[0].HTTPAddr)
	defer h.Close()
	err := c.servers[0].Poll(ctx, timeout, "answer /v1/agent/self", func(ctx context.Context) error {
		var err error
		c.dc, err = h.Datacenter(ctx)
		return err
	})
	if err != nil {
		return leaders{}, err
	}
	return c.waitHealthy(ctx, c.client, timeout-time.Since(t0))
}

// nodes are the servers' node names.
func (c *cluster) nodes() []string {
	var out []string
	for _, s := range c.servers {
		out = append(out, s.Config.Node)
	}
	return out
}

// leaderNames names the leaders' nodes.
func (c *cluster) leaderNames(l leaders) leaderNames {
	return leaderNames{Catalog: c.servers[l.catalog].Config.Node, KV: c.servers[l.kv].Config.Node}
}

// kvTarget is a bench.Target whose idle connections can be released.
type kvTarget interface {
	bench.Target
	Close()
}

// runPut measures put@N through the client agent, straight to the leader
// /v1/status/leader names (and to the kv shard's leader too when that is
// another server), and on etcd's leader, interleaved.
func runPut(ctx context.Context, o options, b *bed, l *leaders, rep *report) error {
	c := b.c
	type target struct {
		name, node string
		srv        *bench.Server
		kv         kvTarget
	}
	ts := []target{
		{"herald client", c.client.Config.Node, c.client.Server, bench.NewConsulKV(c.client.HTTPAddr, o.putClients)},
		{"herald leader", c.servers[l.catalog].Config.Node, c.servers[l.catalog].Server, bench.NewConsulKV(c.servers[l.catalog].HTTPAddr, o.putClients)},
	}
	if l.kv != l.catalog {
		ts = append(ts, target{"herald kv leader", c.servers[l.kv].Config.Node, c.servers[l.kv].Server, bench.NewConsulKV(c.servers[l.kv].HTTPAddr, o.putClients)})
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ei, err := bench.EtcdLeader(lctx, b.etcd)
	cancel()
	if err != nil {
		return err
	}
	// One etcd client for all the writers, as an application holds one.
	etcdKV, err := bench.NewEtcdKV(b.etcd[ei].ClientAddr)
	if err != nil {
		return err
	}
	ts = append(ts, target{"etcd leader", b.etcd[ei].Name, b.etcd[ei].Server, etcdKV})
	for _, t := range ts {
		defer t.kv.Close()
		rep.PutTargets = append(rep.PutTargets, putTarget{Target: t.name, Node: t.node})
	}
	scenario := fmt.Sprintf("put@%d", o.putClients)
	cfg := bench.Config{Op: bench.OpPut, Concurrency: o.putClients, Keys: o.keys, ValueSize: o.valueSize}
	iv := bench.Interleave{Duration: o.duration, Rounds: o.rounds, Warmup: o.warmup}
	sliceNo := make([]int, len(ts))
	res, err := iv.Run(ctx, len(ts), func(ctx context.Context, i int, d time.Duration, warmup bool) (bench.Result, error) {
		rcfg := cfg
		rcfg.Duration = d
		r := bench.Run(ctx, ts[i].kv, rcfg)
		if !warmup {
			sliceNo[i]++
			tool.Logf("%-8s %-16s slice %d/%d: %s", scenario, ts[i].name, sliceNo[i], o.rounds, r.Progress("ops"))
		}
		return r, ts[i].srv.Alive()
	})
	if err != nil {
		return err
	}
	for i, t := range ts {
		rep.Results = append(rep.Results, row{Scenario: scenario, Target: t.name, Result: res[i]})
	}
	// Leadership should not have moved under this load; say so if it did.
	if now, err := c.waitHealthy(ctx, c.client, o.healTimeout); err != nil {
		return err
	} else if now != *l {
		rep.PutNote = fmt.Sprintf("leaders moved during put: catalog %s -> %s, kv %s -> %s",
			c.servers[l.catalog].Config.Node, c.servers[now.catalog].Config.Node, c.servers[l.kv].Config.Node, c.servers[now.kv].Config.Node)
		*l = now
	}
	return nil
}

// runDNS registers a service with o.instances passing instances through
// the catalog and measures its SRV lookup on the client agent and on a
// server that leads neither shard if there is one, interleaved. It also
// counts the CPU time the servers use while the client answers: a client
// that answers from its own copy of the catalog costs them nothing.
func runDNS(ctx context.Context, o options, c *cluster, l leaders, rep *report) error {
	si := -1
	for i := range c.servers {
		if i != l.catalog && i != l.kv {
			si = i
			break
		}
	}
	if si < 0 {
		si = (l.catalog + 1) % len(c.servers)
	}
	srv := c.servers[si]
	h := bench.NewConsulHTTP(c.servers[l.catalog].HTTPAddr)
	err := h.RegisterInstances(ctx, dnsService, o.instances)
	h.Close()
	if err != nil {
		return fmt.Errorf("registering %s: %w", dnsService, err)
	}
	name := dnsService + ".service.consul."
	for _, a := range []*bench.Herald{c.client, srv} {
		err := a.Poll(ctx, 30*time.Second, fmt.Sprintf("answer %s SRV with %d instances", name, o.instances), func(ctx context.Context) error {
			m, err := bench.LookupOnce(ctx, a.DNSAddr, name, dns.TypeSRV)
			if err == nil {
				err = bench.CheckSRVAnswer(m, o.instances)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	tool.Logf("%s has %d passing instances in the DNS of %s and %s", dnsService, o.instances, c.client.Config.Node, srv.Config.Node)

	scenario := fmt.Sprintf("dns@%d", o.dnsClients)
	ts := []struct {
		name string
		h    *bench.Herald
	}{{"herald client", c.client}, {"herald server", srv}}
	g := &dnsReport{Client: c.client.Config.Node, Server: srv.Config.Node, ServerLed: l.led(si)}
	serversTicks := func() (sum uint64) {
		for _, s := range c.servers {
			sum += bench.ProcTicks(fmt.Sprint(s.Pid()))
		}
		return sum
	}
	sliceNo := make([]int, len(ts))
	iv := bench.Interleave{Duration: o.duration, Rounds: o.rounds, Warmup: o.warmup}
	res, err := iv.Run(ctx, len(ts), func(ctx context.Context, i int, d time.Duration, warmup bool) (bench.Result, error) {
		q := bench.DNSQuery{Addr: ts[i].h.DNSAddr, Name: name, Type: dns.TypeSRV, Want: o.instances}
		t0, s0, c0 := serversTicks(), bench.ProcTicks(fmt.Sprint(srv.Pid())), bench.ProcTicks(fmt.Sprint(c.client.Pid()))
		r, err := bench.RunWorkload(ctx, bench.DNSWorkload(q, o.dnsClients, d))
		if err != nil {
			return r, err
		}
		if !warmup {
			if i == 0 {
				g.ServersTicksClient += serversTicks() - t0
				g.ClientTicksClient += bench.ProcTicks(fmt.Sprint(c.client.Pid())) - c0
				g.ClientQueries += r.Ops
			} else {
				g.ServerTicksServer += bench.ProcTicks(fmt.Sprint(srv.Pid())) - s0
				g.ServerQueries += r.Ops
			}
			sliceNo[i]++
			tool.Logf("%-8s %-16s slice %d/%d: %s", scenario, ts[i].name, sliceNo[i], o.rounds, r.Progress("q"))
		}
		return r, ts[i].h.Alive()
	})
	if err != nil {
		return err
	}
	for i, t := range ts {
		rep.Results = append(rep.Results, row{Scenario: scenario, Target: t.name, Result: res[i]})
	}
	rep.DNS = g
	return nil
}

// runFailover kills the leader o.kills times, each time measuring how
// long writes through the client agent stop, then restarting the killed
// server and waiting until the cluster is healthy again. Beside the
// client's writer, a second one writes straight to a server that stays up:
// its first write tells when Raft had a leader again, the client's the
// rest of the path (the servers' RPC over NATS, and the event stream the
// client's own copy follows, since a client agent answers a write once
// its copy has it).
func runFailover(ctx context.Context, o options, c *cluster, l *leaders, rep *report) error {
	f := &failoverReport{Shard: o.kill, Client: c.client.Config.Node, WriteTimeout: o.writeTimeout.String(), RetryPause: o.retryPause.String()}
	rep.Failover = f
	kv := bench.NewConsulKV(c.client.HTTPAddr, 1)
	defer kv.Close()
	w := bench.StartFailoverWriter(ctx, kv, failoverKey, o.writeTimeout, o.retryPause)
	defer w.Close()
	for n := 1; n <= o.kills; n++ {
		vi := l.kv
		if o.kill == "catalog" {
			vi = l.catalog
		}
		victim := c.servers[vi]
		survivor := c.servers[(vi+1)%len(c.servers)]
		k := kill{N: n, Node: victim.Config.Node, Led: l.led(vi), Survivor: survivor.Config.Node}
		if o.natsCluster {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			k.StreamLeader = c.streamLeader(sctx)
			cancel()
		}
		skv := bench.NewConsulKV(survivor.HTTPAddr, 1)
		sw := bench.StartFailoverWriter(ctx, skv, failoverKey+"-direct", o.writeTimeout, o.retryPause)
		c.retired += bench.ProcTicks(fmt.Sprint(victim.Pid()))
		w.Arm()
		sw.Arm()
		at := victim.Kill()
		direct, derr := sw.Wait(ctx, at, o.failoverTimeout)
		s, err := w.Wait(ctx, at, o.failoverTimeout)
		sw.Close()
		skv.Close()
		k.FailoverSample, k.Direct = s, direct.Took
		if derr != nil {
			k.Direct = 0
		}
		if err != nil {
			k.Error = err.Error()
			f.Kills = append(f.Kills, k)
			return fmt.Errorf("kill %d of %s: %w", n, victim.Config.Node, err)
		}
		restarted, err := victim.Restart()
		if err != nil {
			f.Kills = append(f.Kills, k)
			return err
		}
		c.servers[vi] = restarted
		t0 := time.Now()
		now, err := c.waitHealthy(ctx, restarted, o.healTimeout)
		k.Healthy = time.Since(t0)
		if err != nil {
			k.Error = err.Error()
			f.Kills = append(f.Kills, k)
			return fmt.Errorf("after kill %d: %w", n, err)
		}
		k.After = c.leaderNames(now)
		f.Kills = append(f.Kills, k)
		tool.Logf("failover %2d/%d: killed %s (led %s): a write to %s after %s, through %s after %s (%d failed); healthy %s after the restart; now catalog %s, kv %s",
			n, o.kills, k.Node, k.Led, k.Survivor, bench.FormatDuration(k.Direct), c.client.Config.Node, bench.FormatDuration(s.Took), s.Failed,
			bench.FormatDuration(k.Healthy), k.After.Catalog, k.After.KV)
		*l = now
	}
	return nil
}
