package agent_test

import (
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/version"
)

// TestDNSConfigWiring checks that dns_config reaches the DNS server: node
// meta TXT records leave the additional section when
// enable_additional_node_meta_txt is off, and answers still come with
// allow_stale off, each behind a read barrier of the catalog shard.
func TestDNSConfigWiring(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hcl       string
		extraMeta bool
	}{
		{"defaults", `dns_config {}`, true},
		{"no meta TXT, no stale reads", `dns_config {
  allow_stale = false
  enable_additional_node_meta_txt = false
}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := agenttest.Start(t, "-dev", "-node=n1", "-node-meta=rack:r1", "-hcl", tc.hcl)
			c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
			ask := func(qtype uint16) *dns.Msg {
				m := new(dns.Msg)
				m.SetQuestion("n1.node.consul.", qtype)
				r, _, err := c.Exchange(m, a.DNSAddr())
				if err != nil {
					t.Fatalf("DNS %s: %v", dns.TypeToString[qtype], err)
				}
				return r
			}
			var r *dns.Msg
			poll.Eventually(t, 10*time.Second, "the agent's node answered in DNS", func() (bool, string) {
				r = ask(dns.TypeA)
				return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1, r.String()
			})
			// Three TXT records: rack, and the consul-network-segment and
			// consul-version keys the agent adds to its node, as Consul does.
			if got := len(r.Extra) == 3; got != tc.extraMeta {
				t.Errorf("node meta in the additional section: %v, want %v\n%s", got, tc.extraMeta, r)
			}
			// A TXT question gets the meta either way.
			r = ask(dns.TypeTXT)
			var txt []string
			for _, rr := range r.Answer {
				txt = append(txt, rr.(*dns.TXT).Txt...)
			}
			if !slices.Contains(txt, "rack=r1") || !slices.Contains(txt, "consul-version="+version.ConsulCompat) {
				t.Errorf("TXT answer:\n%s", r)
			}
		})
	}
}
