//go:build unix

package robustness

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Partition cuts a server off from the other servers for Hold, in both
// directions, with firewall rules; clients still reach every server, so
// the cut-off one keeps taking requests it cannot serve. Servers on one
// host dial each other from 127.0.0.1, whatever address they bind, so
// the rules tell the servers' packets apart by the group ID each runs
// with (bench.HeraldConfig.Group), and touch no other process's traffic.
func Partition(hold time.Duration) Nemesis {
	return Nemesis{Name: "partition", Hold: hold, Available: partitionAvailable,
		Inject: func(c *Cluster, i int) (func() error, error) {
			rules, err := c.isolate(i)
			if err != nil {
				return nil, err
			}
			return func() error { return c.fw.remove(rules) }, nil
		}}
}

// partitionAvailable says why this machine cannot cut links ("" if it
// can): that takes root and iptables.
func partitionAvailable() string {
	if os.Geteuid() != 0 {
		return "cutting links takes root"
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return "iptables is not installed (Debian: apt-get install iptables)"
	}
	if out, err := exec.Command("iptables", "-S", "OUTPUT").CombinedOutput(); err != nil {
		return fmt.Sprintf("iptables does not work here: %v %s", err, out)
	}
	return ""
}

// firewall adds and removes the rules of one cluster, remembering them so
// that whatever is left is removed when the test ends.
type firewall struct {
	mu    sync.Mutex
	rules map[string][]string // by their text
}

// rule is an OUTPUT rule dropping what a process of group gid sends to
// addr.
func rule(gid uint32, addr string) []string {
	return []string{"OUTPUT", "-m", "owner", "--gid-owner", strconv.FormatUint(uint64(gid), 10),
		"-d", addr, "-m", "comment", "--comment", "herald-robustness", "-j", "DROP"}
}

func iptables(op string, r []string) error {
	args := append([]string{"-w", op}, r...)
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (f *firewall) add(rules [][]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules == nil {
		f.rules = map[string][]string{}
	}
	for _, r := range rules {
		if err := iptables("-A", r); err != nil {
			return err
		}
		f.rules[strings.Join(r, " ")] = r
	}
	return nil
}

func (f *firewall) remove(rules [][]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first error
	for _, r := range rules {
		k := strings.Join(r, " ")
		if _, ok := f.rules[k]; !ok {
			continue
		}
		if err := iptables("-D", r); err != nil && first == nil {
			first = err
		}
		delete(f.rules, k)
	}
	return first
}

// removeAll removes every rule still in place.
func (f *firewall) removeAll() {
	f.mu.Lock()
	var rules [][]string
	for _, r := range f.rules {
		rules = append(rules, r)
	}
	f.mu.Unlock()
	_ = f.remove(rules)
}

// isolate drops everything server i sends to the other servers and
// everything they send to it.
func (c *Cluster) isolate(i int) ([][]string, error) {
	if c.groups == nil {
		return nil, fmt.Errorf("the servers run without group IDs of their own: %s", partitionAvailable())
	}
	var rules [][]string
	for j := range c.N() {
		if j != i {
			rules = append(rules, rule(c.groups[i], c.addrs[j]), rule(c.groups[j], c.addrs[i]))
		}
	}
	return rules, c.fw.add(rules)
}
