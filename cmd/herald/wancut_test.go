package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/testutil/poll"
)

// The WAN-cut test's datacenters are on 127.0.23.1-4 (dc1) and
// 127.0.23.11-14 (dc2), their processes in groups of their own, so that
// firewall rules can drop what one datacenter's processes send to the
// other's addresses, and nothing else: agents on one host dial each other
// from 127.0.0.1 whatever they bind, so the source address cannot tell
// the datacenters apart, and no other test uses these addresses or
// groups.
const (
	wanCutSubnet    = "127.0.23"
	wanCutGroupDC1  = 23001
	wanCutGroupDC2  = 23002
	wanCutRuleLabel = "herald-wancut-test"
)

// wanCutAvailable says why this machine cannot cut links ("" if it can).
func wanCutAvailable() string {
	if os.Geteuid() != 0 {
		return "cutting the WAN takes root"
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return "iptables is not installed"
	}
	if out, err := exec.Command("iptables", "-w", "-S", "OUTPUT").CombinedOutput(); err != nil {
		return fmt.Sprintf("iptables does not work here: %v %s", err, out)
	}
	return ""
}

// wanCutRules drop, in both directions, every packet a process of one
// datacenter sends to an address of the other.
func wanCutRules() [][]string {
	var rules [][]string
	for _, side := range []struct {
		gid   int
		first int // the other datacenter's first address
	}{{wanCutGroupDC1, 11}, {wanCutGroupDC2, 1}} {
		for i := range 4 {
			rules = append(rules, []string{"OUTPUT", "-m", "owner", "--gid-owner", strconv.Itoa(side.gid),
				"-d", fmt.Sprintf("%s.%d", wanCutSubnet, side.first+i), "-m", "comment", "--comment", wanCutRuleLabel, "-j", "DROP"})
		}
	}
	return rules
}

func iptablesRule(t *testing.T, op string, rule []string) error {
	t.Helper()
	args := append([]string{"-w", op}, rule...)
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// cutWAN adds the rules; healWAN removes them. The test's cleanup heals
// whatever is still cut, failed or not.
func cutWAN(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { healWAN(t) })
	for _, r := range wanCutRules() {
		if err := iptablesRule(t, "-A", r); err != nil {
			t.Fatal(err)
		}
	}
}

func healWAN(t *testing.T) {
	t.Helper()
	for _, r := range wanCutRules() {
		// -C first: a rule already removed is not an error.
		for iptablesRule(t, "-C", r) == nil {
			if err := iptablesRule(t, "-D", r); err != nil {
				t.Error(err)
				break
			}
		}
	}
}

// noPath reports whether err is Consul's 500 "No path to datacenter".
func noPath(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.Code == http.StatusInternalServerError && strings.Contains(se.Body, "No path to datacenter")
}

// TestWANCut federates two datacenters of three servers and a client agent
// each, then cuts the WAN between them with firewall rules: each side
// keeps serving its own reads and writes, and requests across answer 500
// No path to datacenter rather than hang; once the rules are gone, the
// requests across work again without anyone doing anything.
func TestWANCut(t *testing.T) {
	if why := wanCutAvailable(); why != "" {
		t.Skip(why)
	}
	dc1 := newDatacenter(t, wanCutSubnet, "dc1", 1, wanCutSubnet+".11:8302")
	dc2 := newDatacenter(t, wanCutSubnet, "dc2", 11, wanCutSubnet+".1:8302")
	for _, s := range dc1.all() {
		s.group = wanCutGroupDC1
	}
	for _, s := range dc2.all() {
		s.group = wanCutGroupDC2
	}
	dc1.launch()
	dc2.launch()
	dc1.waitLeader()
	dc2.waitLeader()
	c1, c2 := apiClient(t, dc1.client), apiClient(t, dc2.client)
	sides := []struct {
		name, other string
		c           *api.Client
		dns         string // the client agent's DNS interface
	}{{"dc1", "dc2", c1, dc1.client.dnsAddr()}, {"dc2", "dc1", c2, dc2.client.dnsAddr()}}
	// lookupAcross asks a side's client agent for the other datacenter's
	// first server by name; the DNS client's timeout is far longer than
	// an answer takes, cut or not.
	lookupAcross := func(dnsAddr, other string) (*dns.Msg, error) {
		q := new(dns.Msg)
		q.SetQuestion(other+"-s1.node."+other+".consul.", dns.TypeA)
		r, _, err := (&dns.Client{Timeout: 20 * time.Second}).Exchange(q, dnsAddr)
		return r, err
	}

	for _, s := range sides {
		if _, err := s.c.KV().Put(&api.KVPair{Key: "home", Value: []byte(s.name)}, nil); err != nil {
			t.Fatalf("%s's own write: %v", s.name, err)
		}
	}
	readAcross := func(c *api.Client, dc string) (string, error) {
		p, _, err := c.KV().Get("home", &api.QueryOptions{Datacenter: dc})
		if err != nil {
			return "", err
		}
		if p == nil {
			return "", errors.New("no key")
		}
		return string(p.Value), nil
	}
	for _, s := range sides {
		poll.Eventually(t, 60*time.Second, s.name+" reads "+s.other+" across the WAN", func() (bool, string) {
			v, err := readAcross(s.c, s.other)
			return err == nil && v == s.other, fmt.Sprint(v, err)
		})
	}

	cutWAN(t)
	for _, s := range sides {
		// The first request may go out before the gateway notices the dead
		// link (its pings go unanswered within seconds), and then waits
		// for that, not for its own timeout: every request answers 500 No
		// path to datacenter well within the client's timeout (apiClient).
		for range 3 {
			if _, err := readAcross(s.c, s.other); !noPath(err) {
				t.Fatalf("%s's KV read of %s with the WAN cut: %v, want a 500 No path to datacenter", s.name, s.other, err)
			}
			if _, _, err := s.c.Catalog().Nodes(&api.QueryOptions{Datacenter: s.other}); !noPath(err) {
				t.Fatalf("%s's catalog read of %s with the WAN cut: %v, want a 500 No path to datacenter", s.name, s.other, err)
			}
		}
		// DNS answers a name it has no path to NXDOMAIN, as Consul does.
		if r, err := lookupAcross(s.dns, s.other); err != nil || r.Rcode != dns.RcodeNameError {
			t.Fatalf("%s's DNS lookup of a node of %s with the WAN cut: %v %v, want NXDOMAIN", s.name, s.other, r, err)
		}
	}
	for _, s := range sides {
		key := "cut/" + s.name
		if _, err := s.c.KV().Put(&api.KVPair{Key: key, Value: []byte("alone")}, nil); err != nil {
			t.Fatalf("%s's own write with the WAN cut: %v", s.name, err)
		}
		p, _, err := s.c.KV().Get(key, &api.QueryOptions{RequireConsistent: true})
		if err != nil || p == nil || string(p.Value) != "alone" {
			t.Fatalf("%s's own consistent read with the WAN cut: %+v %v", s.name, p, err)
		}
		if err := s.c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "cut-" + s.name, Port: 1}); err != nil {
			t.Fatalf("%s's service registration with the WAN cut: %v", s.name, err)
		}
	}

	healWAN(t)
	for _, s := range sides {
		poll.Eventually(t, 90*time.Second, s.name+" reads "+s.other+" across the WAN again", func() (bool, string) {
			p, _, err := s.c.KV().Get("cut/"+s.other, &api.QueryOptions{Datacenter: s.other})
			return err == nil && p != nil && string(p.Value) == "alone", fmt.Sprintf("%+v %v", p, err)
		})
		poll.Eventually(t, 30*time.Second, s.name+"'s DNS answers for "+s.other+" again", func() (bool, string) {
			r, err := lookupAcross(s.dns, s.other)
			return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1, fmt.Sprint(r, err)
		})
		poll.Eventually(t, 30*time.Second, s.name+" sees "+s.other+"'s service registered during the cut", func() (bool, string) {
			svcs, _, err := s.c.Catalog().Service("cut-"+s.other, "", &api.QueryOptions{Datacenter: s.other})
			return err == nil && len(svcs) == 1, fmt.Sprint(svcs, err)
		})
	}
}
