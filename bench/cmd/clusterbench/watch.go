package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/heraldhq/herald/bench"
)

// watchKey is the one key the watch scenario's watchers block on.
const watchKey = "clusterbench/watch"

// watchReport is the watch scenario: blocking queries on one key spread
// over the client agents, woken by one write through a server.
type watchReport struct {
	Asked   int      `json:"asked"`
	CapNote string   `json:"cap_note,omitempty"`
	Clients []string `json:"clients"`
	Writer  string   `json:"writer"` // the server the change was written to
	bench.FanoutResult
	// CPU time from the change until every watcher was answered: the
	// client agents together, the servers together, this process.
	ClientsCPU time.Duration `json:"clients_cpu_ns"`
	ServersCPU time.Duration `json:"servers_cpu_ns"`
	OwnCPU     time.Duration `json:"own_cpu_ns"`
}

// watchTarget is the target for waking every watcher.
const watchTarget = 50 * time.Millisecond

// runWatch holds o.watchers blocking queries on watchKey, spread evenly
// over the client agents (each answering from its own copy of the kv
// shard, which follows a server's event stream), writes the key once
// through the kv shard's leader, and times every watcher's answer from the
// write's start.
func runWatch(ctx context.Context, o options, c *cluster, l leaders, rep *report) error {
	clients := c.clientAgents()
	per := (o.watchers + len(clients) - 1) / len(clients)
	n, capNote := per, ""
	for _, cl := range clients {
		got, note, err := bench.ConnCap(per, "watchers per client agent", cl.Server)
		if err != nil {
			return err
		}
		if got < n {
			n, capNote = got, note
		}
	}
	// This process holds every watcher's connection.
	if own, limit, err := bench.FDHeadroom("self"); err == nil && n*len(clients) > own-bench.FDReserve {
		n = max(1, (own-bench.FDReserve)/len(clients))
		capNote = fmt.Sprintf("running %d watchers, not %d: the open-file limit here is %d, keeping %d spare",
			n*len(clients), o.watchers, limit, bench.FDReserve)
	}
	if capNote != "" {
		tool.Logf("%s", capNote)
	}
	writer := c.servers[l.kv]
	kv := bench.NewConsulKV(writer.HTTPAddr, 1)
	defer kv.Close()
	if err := kv.Put(ctx, watchKey, []byte("seed")); err != nil {
		return err
	}
	w := &watchReport{Asked: o.watchers, CapNote: capNote, Writer: writer.Config.Node}
	var addrs []string
	for _, cl := range clients {
		addrs = append(addrs, cl.HTTPAddr)
		w.Clients = append(w.Clients, cl.Config.Node)
	}
	pids := func(hs []*bench.Herald) []string {
		var out []string
		for _, h := range hs {
			out = append(out, strconv.Itoa(h.Pid()))
		}
		return out
	}
	ticks := func(ps []string) (sum uint64) {
		for _, p := range ps {
			sum += bench.ProcTicks(p)
		}
		return sum
	}
	clientPids, serverPids := pids(clients), pids(c.servers)
	var c0, s0, o0 uint64
	res, err := bench.FanoutQuery(ctx, bench.FanoutConfig{
		Addr: addrs[0], Addrs: addrs, Path: "/v1/kv/" + watchKey, Watchers: n * len(clients),
		Pending: func() (int, error) {
			sum := 0
			for _, cl := range clients {
				p, err := bench.UnreadTCP(cl.HTTPPort)
				if err != nil {
					return 0, err
				}
				sum += p
			}
			return sum, nil
		},
		Before: func() { c0, s0, o0 = ticks(clientPids), ticks(serverPids), bench.ProcTicks("self") },
		Change: func(ctx context.Context) error { return kv.Put(ctx, watchKey, []byte(time.Now().String())) },
		After: func() {
			w.ClientsCPU = time.Duration(ticks(clientPids)-c0) * tick
			w.ServersCPU = time.Duration(ticks(serverPids)-s0) * tick
			w.OwnCPU = time.Duration(bench.ProcTicks("self")-o0) * tick
		},
		Logf: tool.Logf,
	}, "")
	w.FanoutResult = res
	rep.Watch = w
	if err != nil {
		return err
	}
	tool.Logf("watch: %d of %d woken through %d client agents, p50 %s p99 %s max %s", res.Woken, res.Watchers, len(clients),
		bench.FormatDuration(res.P50), bench.FormatDuration(res.P99), bench.FormatDuration(res.Max))
	return nil
}

// watchCheck is the watch scenario's check: every watcher woken, p99
// under watchTarget.
func (r *report) watchCheck() bench.Check {
	name := fmt.Sprintf("watchers through client agents all woken, p99 < %s", bench.FormatDuration(watchTarget))
	w := r.Watch
	if w == nil {
		return bench.NewCheck(name, "not measured", false, false)
	}
	name = fmt.Sprintf("%d watchers through %d client agents all woken, p99 < %s", w.Watchers, len(w.Clients), bench.FormatDuration(watchTarget))
	got := fmt.Sprintf("%d woken, p99 %s", w.Woken, bench.FormatDuration(w.P99))
	return bench.NewCheck(name, got, w.Woken == w.Watchers && w.P99 < watchTarget, true)
}

// printWatch writes the watch scenario's lines.
func (w *watchReport) print(out io.Writer) {
	fmt.Fprintf(out, "\nwatch: %d blocking queries GET /v1/kv/%s?index=N&wait=5m, one connection each, spread over client agents %v; one write through %s (the kv leader)\n",
		w.Watchers, watchKey, w.Clients, w.Writer)
	if w.CapNote != "" {
		fmt.Fprintf(out, "  %s (asked %d)\n", w.CapNote, w.Asked)
	}
	fmt.Fprintf(out, "  woken %d, early %d, errors %d; from the write's start: p50 %s, p90 %s, p99 %s, max %s (the write itself %s)\n",
		w.Woken, w.Early, w.Errors, bench.FormatDuration(w.P50), bench.FormatDuration(w.P90), bench.FormatDuration(w.P99),
		bench.FormatDuration(w.Max), bench.FormatDuration(w.ChangeTook))
	if w.FirstError != "" {
		fmt.Fprintf(out, "  first error: %s\n", w.FirstError)
	}
	perWatcher := func(d time.Duration) string {
		if w.Woken == 0 {
			return "-"
		}
		return fmtCPU(d / time.Duration(w.Woken))
	}
	fmt.Fprintf(out, "  CPU until the last answer: client agents %s (%s a watcher), servers %s, clusterbench %s (%s a watcher)\n",
		bench.FormatDuration(w.ClientsCPU), perWatcher(w.ClientsCPU), bench.FormatDuration(w.ServersCPU),
		bench.FormatDuration(w.OwnCPU), perWatcher(w.OwnCPU))
}
