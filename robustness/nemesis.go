//go:build unix

package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// A Nemesis injects one kind of failure into a server and takes it back.
type Nemesis struct {
	Name string
	// Hold is how long the failure lasts.
	Hold time.Duration
	// Inject starts the failure on server i of c; heal ends it.
	Inject func(c *Cluster, i int) (heal func() error, err error)
	// Available says why the nemesis cannot run here ("" if it can).
	Available func() string
}

// Kill is kill -9 of a server and, after Hold, its restart on the same
// data dir and ports.
func Kill(hold time.Duration) Nemesis {
	return Nemesis{Name: "kill", Hold: hold,
		Inject: func(c *Cluster, i int) (func() error, error) {
			c.Kill(i)
			return func() error { return c.Restart(i) }, nil
		}}
}

// Pause stops a server with SIGSTOP and continues it with SIGCONT after
// Hold: its peers and clients see a server that accepted their
// connections and answers nothing, and then, late, everything at once.
func Pause(hold time.Duration) Nemesis {
	return Nemesis{Name: "pause", Hold: hold,
		Inject: func(c *Cluster, i int) (func() error, error) {
			c.Pause(i)
			return func() error { c.Resume(i); return nil }, nil
		}}
}

// Target says which server a nemesis picks.
type Target string

const (
	KVLeader      Target = "kv-leader"
	CatalogLeader Target = "catalog-leader"
	Random        Target = "random"
)

// Targets are the choices, drawn uniformly.
var Targets = []Target{KVLeader, CatalogLeader, Random}

// pick draws a target and resolves it to a server; when the leaders
// cannot be learned (the cluster has not settled), it falls back to a
// random server and says so.
func pick(c *Cluster, rng *rand.Rand) (int, string) {
	t := Targets[rng.IntN(len(Targets))]
	random := rng.IntN(c.N())
	if t == Random {
		return random, string(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	catalog, kv, err := c.Leaders(ctx)
	if err != nil {
		return random, fmt.Sprintf("random (wanted the %s: %v)", t, err)
	}
	if t == KVLeader {
		return kv, string(t)
	}
	return catalog, string(t)
}

// Fault is one failure the nemesis injected, for the report.
type Fault struct {
	At, Healed time.Duration // since the history began
	Server     string
	Target     string
	Recovered  time.Duration // from heal to a healthy cluster; 0 if it never was
}

// runNemesis injects failures with n, one at a time, from shortly after
// the start until end, waiting after each until the cluster is healthy
// again; logf reports each.
func runNemesis(ctx context.Context, c *Cluster, n Nemesis, rng *rand.Rand, h *History, end time.Time, logf func(string, ...any)) ([]Fault, error) {
	var faults []Fault
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if !sleep(time.Second + time.Duration(rng.IntN(1000))*time.Millisecond) {
		return faults, nil
	}
	for time.Until(end) > n.Hold {
		i, target := pick(c, rng)
		f := Fault{At: time.Duration(h.Now()), Server: c.Name(i), Target: target}
		heal, err := n.Inject(c, i)
		if err != nil {
			return faults, fmt.Errorf("%s %s: %w", n.Name, f.Server, err)
		}
		sleep(n.Hold)
		if err := heal(); err != nil {
			return faults, fmt.Errorf("heal %s %s: %w", n.Name, f.Server, err)
		}
		f.Healed = time.Duration(h.Now())
		if err := c.WaitHealthy(30 * time.Second); err != nil {
			logf("after %s of %s: %v", n.Name, f.Server, err)
		} else {
			f.Recovered = time.Duration(h.Now()) - f.Healed
		}
		logf("nemesis: %s %s (%s) at %v for %v; healthy %v after the heal", n.Name, f.Server, f.Target,
			f.At.Round(time.Millisecond), n.Hold, f.Recovered.Round(time.Millisecond))
		faults = append(faults, f)
		if !sleep(500*time.Millisecond + time.Duration(rng.IntN(1000))*time.Millisecond) {
			break
		}
	}
	return faults, nil
}
