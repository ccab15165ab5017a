//go:build unix

package robustness

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// TestRobustness runs every nemesis against a fresh three-server cluster
// under a concurrent KV and lock workload, and checks the histories (see
// the package documentation). Environment:
//
//	HERALD_ROBUSTNESS_SEEDS=20        runs per nemesis (default 1)
//	HERALD_ROBUSTNESS_SEED=1234       the first seed (default: from the clock)
//	HERALD_ROBUSTNESS_DURATION=30s    workload per run (default 12s)
//	HERALD_ROBUSTNESS_NEMESES=kill    a comma-separated subset
//	HERALD_ROBUSTNESS_OUT=dir         where failing histories go
//	HERALD_BIN=path                   the binary under test (default: built)
func TestRobustness(t *testing.T) {
	seeds := envInt(t, "HERALD_ROBUSTNESS_SEEDS", 1)
	first := uint64(time.Now().UnixNano() % 1_000_000)
	if v := os.Getenv("HERALD_ROBUSTNESS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("HERALD_ROBUSTNESS_SEED=%q: %v", v, err)
		}
		first = n
	}
	duration := 12 * time.Second
	if v := os.Getenv("HERALD_ROBUSTNESS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("HERALD_ROBUSTNESS_DURATION=%q: %v", v, err)
		}
		duration = d
	}
	nemeses := Nemeses()
	if v := os.Getenv("HERALD_ROBUSTNESS_NEMESES"); v != "" {
		var picked []Nemesis
		for _, name := range strings.Split(v, ",") {
			found := false
			for _, n := range nemeses {
				if n.Name == name {
					picked, found = append(picked, n), true
				}
			}
			if !found {
				t.Fatalf("HERALD_ROBUSTNESS_NEMESES: no nemesis %q", name)
			}
		}
		nemeses = picked
	}
	for k := range seeds {
		seed := first + uint64(k)
		for _, n := range nemeses {
			t.Run(fmt.Sprintf("%s/seed=%d", n.Name, seed), func(t *testing.T) {
				if n.Available != nil {
					if why := n.Available(); why != "" {
						t.Skipf("%s: %s", n.Name, why)
					}
				}
				t.Logf("seed %d; reproduce with HERALD_ROBUSTNESS_SEED=%d HERALD_ROBUSTNESS_SEEDS=1 go test ./robustness -run 'TestRobustness/%s/seed=%d'",
					seed, seed, n.Name, seed)
				Run(t, Scenario{
					Seed: seed, Nemesis: n, Duration: duration,
					Workload:          Workload{Clients: 6, Registers: 3, Locks: 1, Pace: 5 * time.Millisecond},
					MinAckedPerSecond: 5,
					CheckTimeout:      time.Minute,
					OutDir:            outDir(t),
				})
			})
		}
	}
}

// Nemeses are the failures TestRobustness injects, one kind per run.
func Nemeses() []Nemesis {
	return []Nemesis{Kill(3 * time.Second), Pause(4 * time.Second), Partition(4 * time.Second)}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// outDir is where a run's failing history goes: under
// $HERALD_ROBUSTNESS_OUT, or the test's artifact directory with
// -artifacts, or else a temporary directory kept only if the test fails.
func outDir(t *testing.T) string {
	name := strings.NewReplacer("/", "_", "=", "-").Replace(t.Name())
	if base := os.Getenv("HERALD_ROBUSTNESS_OUT"); base != "" {
		return filepath.Join(base, name)
	}
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	dir, err := os.MkdirTemp("", "herald-robustness-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	return dir
}
