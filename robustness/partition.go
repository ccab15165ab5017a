//go:build unix

package robustness

import "time"

// Partition cuts a server off from the other servers for Hold.
func Partition(hold time.Duration) Nemesis {
	return Nemesis{Name: "partition", Hold: hold,
		Available: func() string { return "not written yet" },
		Inject: func(c *Cluster, i int) (func() error, error) {
			return func() error { return nil }, nil
		}}
}
