package telemetry

import (
	"fmt"
	"testing"
	"time"

	gometrics "github.com/hashicorp/go-metrics"

	"github.com/heraldhq/herald/testutil/poll"
)

// TestNames checks the two naming schemes: Consul's names under the
// configured prefix, Herald's under "herald", the host name after either
// in gauges unless disabled.
func TestNames(t *testing.T) {
	r, err := New(Config{Prefix: "consul"})
	if err != nil {
		t.Fatal(err)
	}
	r.Gauge([]string{"herald", "state", "checks"}, func() (float32, bool) { return 7, true })
	r.Gauge([]string{"state", "nodes"}, func() (float32, bool) { return 0, false })

	// The summary shows one interval of the in-memory sink (10 s): when
	// the metrics below land on both sides of an interval's end, the
	// summary holds only some of them. Record them again until one
	// interval holds them all: two attempts in a row cannot both straddle.
	var names map[string]bool
	poll.Eventually(t, 30*time.Second, "every metric in one interval", func() (bool, string) {
		r.IncrCounter([]string{"raft", "apply"}, 1, Label{Name: "shard", Value: "kv"})
		r.MeasureSince([]string{"herald", "raft", "propose"}, time.Now())
		r.sample()
		v, err := r.Summary()
		if err != nil {
			return false, err.Error()
		}
		sum := v.(gometrics.MetricsSummary)
		names = map[string]bool{}
		for _, c := range sum.Counters {
			names[c.Name] = true
		}
		for _, s := range sum.Samples {
			names[s.Name] = true
		}
		var checks float32 = -1
		for _, g := range sum.Gauges {
			names[g.Name] = true
			if g.Name == "herald."+r.m.HostName+".state.checks" {
				checks = g.Value
			}
		}
		for _, want := range []string{"consul.raft.apply", "herald.raft.propose", "consul." + r.m.HostName + ".runtime.num_goroutines"} {
			if !names[want] {
				return false, fmt.Sprintf("no %s in %v", want, names)
			}
		}
		return checks == 7, fmt.Sprintf("herald.<host>.state.checks = %v, want 7 (%v)", checks, names)
	})
	if names["consul."+r.m.HostName+".state.nodes"] {
		t.Errorf("a gauge whose function said not now was set")
	}
	if r.PrometheusHandler() != nil {
		t.Errorf("Prometheus handler without a retention time")
	}
}
