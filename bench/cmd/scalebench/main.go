// Command scalebench measures Herald at scale on this machine, with etcd
// beside it where etcd can carry the same load:
//
//   - a KV store of -keys keys (default 1,000,000) of -value-size bytes
//     (100): load time, memory, start-up after kill -9, snapshot save and
//     restore time and their peak memory;
//   - a catalog of -nodes nodes (10,000) with -services services each
//     (5): memory per service instance, DNS and health/service latency,
//     and how long a client agent takes to bootstrap its projections.
//
// Each server runs alone (etcd's phase, then Herald's), persisting to the
// disk under -tmp with fsync on. Everything started is stopped and the
// temporary directory removed at the end, also on Ctrl+C.
//
// Usage, from the repository root after `go build -o bin/herald ./cmd/herald`:
//
//	go run ./bench/cmd/scalebench [-keys=1000000] [-nodes=10000] [-tmp=/var/tmp]
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/bench"
)

var tool = bench.Tool{Name: "scalebench", Stamp: true}

type options struct {
	herald, etcd          string
	only                  string
	keys, valueSize       int
	batch, loaders        int
	nodes, services       int
	serviceNames, queries int
	startTimeout          time.Duration
	tmp                   string
	keep                  bool
	// heapProfiles, if set, is where heap profiles of the server taken
	// during the restore go (the server runs with enable_debug).
	heapProfiles string
}

func main() { os.Exit(run()) }

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.herald, "herald", "./bin/herald", "Herald binary")
	flag.StringVar(&o.etcd, "etcd", "/usr/bin/etcd", "etcd binary (Debian: apt-get install etcd-server); empty for none")
	flag.StringVar(&o.only, "only", "", "kv or catalog to run one part only")
	flag.IntVar(&o.keys, "keys", 1_000_000, "KV keys to load")
	flag.IntVar(&o.valueSize, "value-size", 100, "bytes per KV value")
	flag.IntVar(&o.batch, "batch", 64, "keys per load transaction (Consul's /v1/txn takes at most 64 operations)")
	flag.IntVar(&o.loaders, "loaders", 16, "concurrent load transactions")
	flag.IntVar(&o.nodes, "nodes", 10_000, "catalog nodes")
	flag.IntVar(&o.services, "services", 5, "services per node")
	flag.IntVar(&o.serviceNames, "service-names", 1000, "distinct service names the instances spread over")
	flag.IntVar(&o.queries, "queries", 2000, "queries per latency measurement (one client, back to back)")
	flag.DurationVar(&o.startTimeout, "start-timeout", 10*time.Minute, "how long a server may take to start and serve")
	flag.StringVar(&o.tmp, "tmp", "", "parent of the temporary directory (default $TMPDIR or /tmp); use a disk, not tmpfs")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.StringVar(&o.heapProfiles, "heap-profiles", "", "directory for heap profiles and memory statistics of Herald taken every second of the restore (starts it with enable_debug)")
	flag.Parse()
	var err error
	if o.herald, err = exec.LookPath(o.herald); err != nil {
		return o, fmt.Errorf("herald binary not found (%v): go build -o bin/herald ./cmd/herald", err)
	}
	if o.etcd != "" {
		if o.etcd, err = exec.LookPath(o.etcd); err != nil {
			tool.Logf("no etcd (%v): etcd is not measured", err)
			o.etcd = ""
		}
	}
	if o.batch < 1 || o.batch > 64 || o.loaders < 1 || o.keys < 1 || o.nodes < 1 || o.services < 1 || o.serviceNames < 1 {
		return o, errors.New("sizes must be positive, -batch at most 64")
	}
	return o, nil
}

// row is one figure of the results table.
type row struct{ part, what, etcd, herald string }

var rows []row

func record(part, what, etcd, herald string) {
	rows = append(rows, row{part, what, etcd, herald})
	tool.Logf("%s: %s: etcd %s, herald %s", part, what, etcd, herald)
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
	tool.Logf("data under %s", dir)
	if o.only == "" || o.only == "kv" {
		if err := kvScale(ctx, o, dir); err != nil {
			return tool.Abort(ctx, err)
		}
	}
	if o.only == "" || o.only == "catalog" {
		if err := catalogScale(ctx, o, dir); err != nil {
			return tool.Abort(ctx, err)
		}
	}
	tool.Logf("load steps retried: %d", retries.Load())
	fmt.Printf("\n| part | measure | etcd | Herald |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.part, r.what, r.etcd, r.herald)
	}
	return 0
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
func secs(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func rss(s *bench.Server) int64 {
	v, _ := s.ProcStatus("VmRSS")
	return v
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// heapProfiles saves the server's heap profile (/debug/pprof/heap) every
// second into dir, as restore-heap-NN.pb.gz, and the runtime's memory
// statistics (the end of the profile's text form) with the process's
// VmRSS in restore-heap-NN.txt, until the returned function is called;
// nothing when dir is empty.
func heapProfiles(ctx context.Context, dir, base string, rss func() int64) (stop func()) {
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tool.Logf("heap profiles: %v", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			b, err := httpDo(ctx, "GET", base+"/debug/pprof/heap", nil, 0)
			if err != nil {
				if ctx.Err() == nil {
					tool.Logf("heap profile %d: %v", i, err)
				}
				continue
			}
			name := filepath.Join(dir, fmt.Sprintf("restore-heap-%02d", i))
			if err := os.WriteFile(name+".pb.gz", b, 0o644); err != nil {
				tool.Logf("heap profile %d: %v", i, err)
			}
			text, err := httpDo(ctx, "GET", base+"/debug/pprof/heap?debug=1", nil, 0)
			if at := bytes.Index(text, []byte("# runtime.MemStats")); err == nil && at >= 0 {
				stats := fmt.Sprintf("# at %s, VmRSS %s\n%s", time.Now().UTC().Format("15:04:05.000"), mb(rss()), text[at:])
				os.WriteFile(name+".txt", []byte(stats), 0o644)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func keyName(i int) string { return fmt.Sprintf("scale/%08d", i) }

// loadKeys runs put(batch of keys) over -loaders workers until every key
// is written.
func loadKeys(ctx context.Context, o options, put func(ctx context.Context, keys []string) error) (time.Duration, error) {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.loaders)
	for range o.loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := make([]string, 0, o.batch)
			for {
				from := int(next.Add(int64(o.batch))) - o.batch
				if from >= o.keys || ctx.Err() != nil {
					return
				}
				keys = keys[:0]
				for i := from; i < min(from+o.batch, o.keys); i++ {
					keys = append(keys, keyName(i))
				}
				if err := retry(ctx, func() error { return put(ctx, keys) }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return time.Since(start), ctx.Err()
}

// retry tries a load step (a transaction of sets, which may be applied
// twice to the same effect) up to 5 times: on a loaded machine a write
// may time out and then have been applied or not.
func retry(ctx context.Context, step func() error) error {
	var err error
	for range 5 {
		if err = step(); err == nil || ctx.Err() != nil {
			return err
		}
		retries.Add(1)
	}
	return err
}

var retries atomic.Int64

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func httpDo(ctx context.Context, method, url string, body io.Reader, n int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		req.ContentLength = n
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return b, err
}

// waitUp polls try every 20 ms until it succeeds; it returns how long that
// took from since.
func waitUp(ctx context.Context, s *bench.Server, timeout time.Duration, since time.Time, what string, try func(context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := s.Alive(); err != nil {
			return 0, fmt.Errorf("%s: %v\n%s", what, err, s.Tail(20))
		}
		if last = try(ctx); last == nil {
			return time.Since(since), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s: %v (last: %v)\n%s", what, ctx.Err(), last, s.Tail(20))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func kvScale(ctx context.Context, o options, dir string) error {
	value := bytes.Repeat([]byte("v"), o.valueSize)
	part := fmt.Sprintf("KV, %d keys of %d B", o.keys, o.valueSize)
	res := map[string]map[string]string{"etcd": {}, "herald": {}}
	defer func() {
		for name, r := range res {
			for k, v := range r {
				tool.Logf("%s %s: %s", name, k, v)
			}
		}
	}()
	order := []string{}

	if o.etcd != "" {
		if err := os.MkdirAll(filepath.Join(dir, "etcd-kv"), 0o755); err != nil {
			return err
		}
		members, err := bench.StartEtcd(o.etcd, filepath.Join(dir, "etcd-kv"), 1)
		if err != nil {
			return err
		}
		e := members[0]
		srv := e.Server
		defer func() { srv.Stop() }()
		cl, err := bench.NewEtcdKV(e.ClientAddr)
		if err != nil {
			return err
		}
		defer cl.Close()
		if _, err := waitUp(ctx, srv, o.startTimeout, time.Now(), "etcd start", func(ctx context.Context) error {
			return cl.PutBatch(ctx, []string{"up"}, value)
		}); err != nil {
			return err
		}
		before := rss(srv)
		took, err := loadKeys(ctx, o, func(ctx context.Context, keys []string) error { return cl.PutBatch(ctx, keys, value) })
		if err != nil {
			return fmt.Errorf("etcd load: %w", err)
		}
		after := rss(srv)
		r := res["etcd"]
		r["load"] = fmt.Sprintf("%s (%.0f keys/s)", secs(took), float64(o.keys)/took.Seconds())
		r["rss"] = mb(after)
		r["perkey"] = fmt.Sprintf("%.0f B", float64(after-before)/float64(o.keys))
		r["disk"] = mb(dirSize(filepath.Join(dir, "etcd-kv", "etcd-data")))
		r["loadpeak"] = func() string { v, _ := srv.ProcStatus("VmHWM"); return mb(v) }()
		// Snapshot save.
		f, err := os.Create(filepath.Join(dir, "etcd.snapshot"))
		if err != nil {
			return err
		}
		peak := bench.SamplePeakRSS(srv.Pid(), 20*time.Millisecond)
		start := time.Now()
		n, err := cl.Snapshot(ctx, f)
		took = time.Since(start)
		p := peak.Stop()
		f.Close()
		if err != nil {
			return fmt.Errorf("etcd snapshot: %w", err)
		}
		r["save"] = fmt.Sprintf("%s, %s file", secs(took), mb(n))
		r["savepeak"] = mb(p)
		// kill -9, then start again on the same data, until a read of the
		// last key loaded succeeds.
		srv.Kill()
		args := srv.Cmd.Args[1:]
		start = time.Now()
		again, err := bench.StartServer("etcd-again", filepath.Join(dir, "etcd-kv"), o.etcd, args...)
		if err != nil {
			return err
		}
		srv = again
		cl2, err := bench.NewEtcdKV(e.ClientAddr)
		if err != nil {
			return err
		}
		defer cl2.Close()
		up, err := waitUp(ctx, srv, o.startTimeout, start, "etcd restart", func(ctx context.Context) error {
			c, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return cl2.Get(c, keyName(o.keys-1))
		})
		if err != nil {
			return err
		}
		r["restart"] = secs(up)
		r["restartrss"] = mb(rss(srv))
		r["restore"] = "offline only (etcdutl snapshot restore into a new data dir)"
		srv.Stop()
		order = append(order, "etcd")
	}

	// Herald.
	hcfg := bench.HeraldConfig{Bin: o.herald, Dir: dir, Name: "herald-kv", Node: "kv1"}
	if o.heapProfiles != "" {
		hcfg.Extra = []string{"-hcl", "enable_debug = true"}
	}
	h, err := bench.StartHerald(hcfg)
	if err != nil {
		return err
	}
	defer func() { h.Stop() }()
	base := "http://" + h.HTTPAddr
	if _, err := waitUp(ctx, h.Server, o.startTimeout, time.Now(), "herald start", func(ctx context.Context) error {
		_, err := httpDo(ctx, "PUT", base+"/v1/kv/up", bytes.NewReader(value), 0)
		return err
	}); err != nil {
		return err
	}
	before := rss(h.Server)
	encoded := base64.StdEncoding.EncodeToString(value)
	took, err := loadKeys(ctx, o, func(ctx context.Context, keys []string) error {
		ops := make([]map[string]any, len(keys))
		for i, k := range keys {
			ops[i] = map[string]any{"KV": map[string]string{"Verb": "set", "Key": k, "Value": encoded}}
		}
		body, _ := json.Marshal(ops)
		_, err := httpDo(ctx, "PUT", base+"/v1/txn", bytes.NewReader(body), 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("herald load: %w", err)
	}
	after := rss(h.Server)
	r := res["herald"]
	r["load"] = fmt.Sprintf("%s (%.0f keys/s)", secs(took), float64(o.keys)/took.Seconds())
	r["rss"] = mb(after)
	r["perkey"] = fmt.Sprintf("%.0f B", float64(after-before)/float64(o.keys))
	r["disk"] = mb(dirSize(filepath.Join(dir, "herald-kv-data")))
	r["loadpeak"] = func() string { v, _ := h.ProcStatus("VmHWM"); return mb(v) }()

	snapPath := filepath.Join(dir, "herald.snap")
	f, err := os.Create(snapPath)
	if err != nil {
		return err
	}
	peak := bench.SamplePeakRSS(h.Pid(), 20*time.Millisecond)
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/snapshot", nil)
	resp, err := httpClient.Do(req)
	var n int64
	if err == nil {
		n, err = io.Copy(f, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("snapshot save: %d", resp.StatusCode)
		}
	}
	took = time.Since(start)
	p := peak.Stop()
	f.Close()
	if err != nil {
		return fmt.Errorf("herald snapshot save: %w", err)
	}
	r["save"] = fmt.Sprintf("%s, %s file", secs(took), mb(n))
	r["savepeak"] = mb(p)

	h.Kill()
	start = time.Now()
	if h, err = h.Restart(); err != nil {
		return err
	}
	up, err := waitUp(ctx, h.Server, o.startTimeout, start, "herald restart", func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := httpDo(c, "GET", base+"/v1/kv/"+keyName(o.keys-1), nil, 0)
		return err
	})
	if err != nil {
		return err
	}
	r["restart"] = secs(up)
	r["restartrss"] = mb(rss(h.Server))

	// Restore the snapshot over the running server's state.
	sf, err := os.Open(snapPath)
	if err != nil {
		return err
	}
	peak = bench.SamplePeakRSS(h.Pid(), 20*time.Millisecond)
	stopProfiles := heapProfiles(ctx, o.heapProfiles, base, func() int64 { return rss(h.Server) })
	start = time.Now()
	_, err = httpDo(ctx, "PUT", base+"/v1/snapshot", sf, n)
	took = time.Since(start)
	p = peak.Stop()
	stopProfiles()
	sf.Close()
	if err != nil {
		r["restore"] = "failed: " + err.Error()
	} else {
		r["restore"] = secs(took)
		r["restorepeak"] = mb(p)
		if _, err := httpDo(ctx, "GET", base+"/v1/kv/"+keyName(o.keys/2), nil, 0); err != nil {
			return fmt.Errorf("after the restore: %w", err)
		}
	}
	r["restorerss"] = mb(rss(h.Server))
	order = append(order, "herald")

	get := func(name, k string) string {
		if v, ok := res[name][k]; ok {
			return v
		}
		if slices.Contains(order, name) {
			return "—"
		}
		return "not run"
	}
	for _, m := range []struct{ k, what string }{
		{"load", fmt.Sprintf("load (transactions of %d, %d at a time)", o.batch, o.loaders)},
		{"rss", "RSS after the load"},
		{"perkey", "RSS growth per key"},
		{"loadpeak", "peak RSS (VmHWM) after the load"},
		{"disk", "data on disk"},
		{"save", "snapshot save"},
		{"savepeak", "peak RSS during the save"},
		{"restart", "start-up after kill -9, until the last key is read"},
		{"restartrss", "RSS after the start-up"},
		{"restore", "snapshot restore (online)"},
		{"restorepeak", "peak RSS during the restore"},
		{"restorerss", "RSS after the restore"},
	} {
		record(part, m.what, get("etcd", m.k), get("herald", m.k))
	}
	h.Stop()
	return nil
}

// latency runs n queries back to back and returns p50 and p99.
func latency(ctx context.Context, n int, q func(ctx context.Context, i int) error) (p50, p99 time.Duration, err error) {
	ds := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if err := q(ctx, i); err != nil {
			return 0, 0, err
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*99/100], nil
}

func catalogScale(ctx context.Context, o options, dir string) error {
	part := fmt.Sprintf("catalog, %d nodes × %d services", o.nodes, o.services)
	h, err := bench.StartHerald(bench.HeraldConfig{Bin: o.herald, Dir: dir, Name: "herald-catalog", Node: "cat1", DNS: true})
	if err != nil {
		return err
	}
	defer func() { h.Stop() }()
	base := "http://" + h.HTTPAddr
	if _, err := waitUp(ctx, h.Server, o.startTimeout, time.Now(), "herald start", func(ctx context.Context) error {
		_, err := httpDo(ctx, "PUT", base+"/v1/kv/up", bytes.NewReader([]byte("x")), 0)
		return err
	}); err != nil {
		return err
	}
	before := rss(h.Server)
	service := func(node, j int) string { return "svc-" + strconv.Itoa((node*o.services+j)%o.serviceNames) }
	// Each node and its services in one transaction: 1 + services
	// operations, several nodes per transaction up to 64.
	perTxn := max(1, 64/(1+o.services))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.loaders)
	start := time.Now()
	for range o.loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(int64(perTxn))) - perTxn
				if from >= o.nodes || ctx.Err() != nil {
					return
				}
				var ops []map[string]any
				for i := from; i < min(from+perTxn, o.nodes); i++ {
					node := fmt.Sprintf("node-%05d", i)
					ops = append(ops, map[string]any{"Node": map[string]any{"Verb": "set",
						"Node": map[string]any{"Node": node, "Address": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}}})
					for j := range o.services {
						ops = append(ops, map[string]any{"Service": map[string]any{"Verb": "set", "Node": node,
							"Service": map[string]any{"ID": service(i, j), "Service": service(i, j), "Port": 8000 + j}}})
					}
				}
				body, _ := json.Marshal(ops)
				if err := retry(ctx, func() error {
					_, err := httpDo(ctx, "PUT", base+"/v1/txn", bytes.NewReader(body), 0)
					return err
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("catalog load: %w", err)
	default:
	}
	took := time.Since(start)
	instances := o.nodes * o.services
	after := rss(h.Server)
	record(part, "registration (catalog transactions)", "n/a", fmt.Sprintf("%s (%.0f instances/s)", secs(took), float64(instances)/took.Seconds()))
	record(part, "RSS after registration", "n/a", mb(after))
	record(part, "RSS growth per service instance", "n/a", fmt.Sprintf("%.0f B", float64(after-before)/float64(instances)))

	// How many instances each service name has.
	perName := make([]int, o.serviceNames)
	for i := range o.nodes {
		for j := range o.services {
			n, _ := strconv.Atoi(service(i, j)[len("svc-"):])
			perName[n]++
		}
	}
	p50, p99, err := latency(ctx, o.queries, func(ctx context.Context, i int) error {
		b, err := httpDo(ctx, "GET", fmt.Sprintf("%s/v1/health/service/svc-%d?passing=1", base, i%o.serviceNames), nil, 0)
		if err != nil {
			return err
		}
		var l []json.RawMessage
		if want := perName[i%o.serviceNames]; json.Unmarshal(b, &l) != nil || len(l) != want {
			return fmt.Errorf("health/service: %d entries, want %d", len(l), want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	record(part, fmt.Sprintf("health/service (%d instances), one client: p50 / p99", perName[0]), "n/a", fmt.Sprintf("%v / %v", p50.Round(time.Microsecond), p99.Round(time.Microsecond)))
	p50, p99, err = latency(ctx, o.queries, func(ctx context.Context, i int) error {
		m, err := bench.LookupOnce(ctx, h.DNSAddr, fmt.Sprintf("svc-%d.service.consul", i%o.serviceNames), dns.TypeSRV)
		if err != nil {
			return err
		}
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0 {
			return fmt.Errorf("DNS SRV: rcode %d, %d answers", m.Rcode, len(m.Answer))
		}
		return nil
	})
	if err != nil {
		return err
	}
	record(part, "DNS SRV, one client: p50 / p99", "n/a", fmt.Sprintf("%v / %v", p50.Round(time.Microsecond), p99.Round(time.Microsecond)))

	// A client agent joins and loads its projections from the server.
	start = time.Now()
	c, err := bench.StartHerald(bench.HeraldConfig{Bin: o.herald, Dir: dir, Name: "herald-client", Node: "client1", Client: true,
		Join: []string{h.SerfAddr}})
	if err != nil {
		return err
	}
	defer c.Stop()
	last := fmt.Sprintf("http://%s/v1/health/service/svc-%d", c.HTTPAddr, o.serviceNames-1)
	boot, err := waitUp(ctx, c.Server, o.startTimeout, start, "client agent bootstrap", func(ctx context.Context) error {
		b, err := httpDo(ctx, "GET", last, nil, 0)
		if err != nil {
			return err
		}
		var l []json.RawMessage
		if want := perName[o.serviceNames-1]; json.Unmarshal(b, &l) != nil || len(l) != want {
			return fmt.Errorf("%d entries, want %d", len(l), want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	record(part, "client agent: start until it serves the catalog", "n/a", secs(boot))
	record(part, "client agent RSS", "n/a", mb(rss(c.Server)))
	record(part, "server peak RSS (VmHWM)", "n/a", func() string { v, _ := h.ProcStatus("VmHWM"); return mb(v) }())
	return nil
}
