package agent_test

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// readServices is a test authorizer: read on the listed services and on
// every node, nothing else.
type readServices map[string]bool

func (s readServices) Allowed(r acl.Resource, name string, need acl.Access) bool {
	switch r {
	case acl.ResourceNode:
		return need == acl.Read
	case acl.ResourceService:
		return need == acl.Read && s[name]
	}
	return false
}
func (s readServices) AllowedPrefix(r acl.Resource, prefix string, need acl.Access) bool {
	return s.Allowed(r, prefix, need)
}

// DNS answers as the agent's default token sees the catalog: a service it
// cannot read does not resolve.
func TestDNSAnswersWithTheDefaultToken(t *testing.T) {
	manage := acl.Identity{AccessorID: "accessor-management", SecretID: "secret-management", Authorizer: acl.ManageAll()}
	tokens := serverTokens{
		"secret-management": manage,
		"":                  {AccessorID: acl.AnonymousTokenID, Authorizer: readServices{"web": true}},
	}
	a := agenttest.StartWithACL(t, tokens, func() acl.Identity { return manage }, "-dev", "-node=n1")
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: "secret-management"})
	for _, svc := range []string{"web", "db"} {
		if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "n2", Address: "10.0.0.2",
			Service: &api.AgentService{ID: svc, Service: svc, Port: 80}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	client := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	ask := func(name string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeSRV)
		r, _, err := client.Exchange(m, a.DNSAddr())
		if err != nil {
			t.Fatalf("DNS %s: %v", name, err)
		}
		return r
	}
	poll.Eventually(t, 10*time.Second, "web resolves", func() (bool, string) {
		r := ask("web.service.consul.")
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1, r.String()
	})
	if r := ask("db.service.consul."); r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
		t.Fatalf("a service the default token cannot read resolved:\n%s", r)
	}
	// The management token sees db: it is there, only hidden from DNS.
	if inst, _, err := c.Catalog().Service("db", "", nil); err != nil || len(inst) != 1 {
		t.Fatalf("db in the catalog: %v %v", inst, err)
	}
}
