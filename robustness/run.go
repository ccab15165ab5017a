//go:build unix

package robustness

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Scenario is one run: a fresh cluster, a workload, a nemesis.
type Scenario struct {
	Seed     uint64
	Nemesis  Nemesis
	Workload Workload
	Duration time.Duration
	// MinAckedPerSecond is how many acknowledged operations per second of
	// Duration the run must reach, so that a cluster that made too little
	// progress fails instead of passing vacuously.
	MinAckedPerSecond float64
	// CheckTimeout bounds the linearizability check.
	CheckTimeout time.Duration
	// OutDir receives porcupine's visualization of a failing history.
	OutDir string
}

// Result is what a run found.
type Result struct {
	Faults    []Fault
	Verdict   Verdict
	Overlaps  []Overlap
	Ops       []*Op
	Final     map[string]*Op // the last read of each key, after the run
	StreamErr []string       // event stream findings, per server
}

// Run runs s on a cluster of its own and checks what the clients saw. It
// fails t on a finding; progress below the minimum fails it too.
func Run(t *testing.T, s Scenario) Result {
	rng := rand.New(rand.NewPCG(s.Seed, 1))
	c := StartCluster(t, rng)
	h := NewHistory()
	var clients []*client
	for i := range s.Workload.Clients {
		cl, err := newClient(c, h, s.Workload, i, s.Seed)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cl)
	}
	end := time.Now().Add(s.Duration)
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); cl.run(ctx) }()
	}
	var res Result
	faults, err := runNemesis(ctx, c, s.Nemesis, rng, h, end, t.Logf)
	res.Faults = faults
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(60 * time.Second); err != nil {
		t.Errorf("after the run: %v", err)
	}
	res.Final = finalReads(t, c, h, s.Workload)
	res.Ops = h.Ops()

	res.Verdict, err = CheckLinearizable(res.Ops, s.CheckTimeout, s.OutDir, "history")
	if err != nil {
		t.Errorf("visualization: %v", err)
	}
	v := res.Verdict
	t.Logf("%d faults; %s; %d checked in %v: %s", len(faults), v.Stats, v.Checked, v.Took.Round(time.Millisecond), v.Result)
	switch v.Result {
	case porcupine.Illegal:
		t.Errorf("the history is not linearizable; porcupine's view of it: %s\n%s", v.Visualization, v.Explanation)
	case porcupine.Unknown:
		t.Logf("the linearizability check gave up after %v: no verdict", s.CheckTimeout)
	}
	if res.Overlaps = CheckLocks(res.Ops); len(res.Overlaps) > 0 {
		for _, o := range res.Overlaps[:min(5, len(res.Overlaps))] {
			t.Errorf("two holders of one lock: %s", o)
		}
		if len(res.Overlaps) > 5 {
			t.Errorf("... and %d more overlaps", len(res.Overlaps)-5)
		}
	}
	var streamSummary string
	res.StreamErr, streamSummary = CheckStream(c, res.Ops, res.Final)
	t.Log(streamSummary)
	if len(res.StreamErr) > 0 {
		t.Errorf("the event stream does not match the history:\n  %s", strings.Join(res.StreamErr, "\n  "))
	}
	if want := int(s.MinAckedPerSecond * s.Duration.Seconds()); v.Stats.Acked < want {
		t.Errorf("too little progress to judge: %d operations acknowledged, want at least %d (%.0f/s for %v)",
			v.Stats.Acked, want, s.MinAckedPerSecond, s.Duration)
	}
	return res
}

// finalReads reads every key once more, through every server in turn
// until one answers, once the cluster is healthy: the reads close the
// history, so that writes whose outcome was unknown show whether they
// took effect.
func finalReads(t *testing.T, c *Cluster, h *History, w Workload) map[string]*Op {
	final := &client{id: w.Clients, c: c, h: h, rng: rand.New(rand.NewPCG(0, 0)), seen: map[string]*Op{}}
	out := map[string]*Op{}
	var keys []string
	for i := range w.Registers {
		keys = append(keys, registerKey(i))
	}
	for i := range w.Locks {
		keys = append(keys, lockKey(i))
	}
	for _, k := range keys {
		for try := 0; try < 10; try++ {
			if op := final.Get(context.Background(), k); op.Outcome == OK {
				out[k] = op
				break
			}
		}
		if out[k] == nil {
			t.Errorf("no final read of %s succeeded", k)
		}
	}
	return out
}
