package agent_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// The services of gateways come from their config entries
// (/v1/catalog/gateway-services, with "*" expanded over the catalog), and
// /v1/health/ingress/:service and DNS <service>.ingress answer the ingress
// gateways that route to the service; both wake blocking queries when the
// entries change.
func TestGatewayServicesAndIngress(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	for _, reg := range []*api.AgentServiceRegistration{
		{Name: "web", Port: 8080}, {Name: "api", Port: 9000}, {Name: "billing", Port: 7000},
		{Kind: api.ServiceKindIngressGateway, Name: "ingress", Port: 8443},
		{Kind: api.ServiceKindTerminatingGateway, Name: "term", Port: 8444},
	} {
		if err := c.Agent().ServiceRegister(reg); err != nil {
			t.Fatal(err)
		}
	}
	ce := c.ConfigEntries()
	if _, _, err := ce.Set(&api.IngressGatewayConfigEntry{Kind: api.IngressGateway, Name: "ingress", Listeners: []api.IngressListener{
		{Port: 8080, Protocol: "http", Services: []api.IngressService{{Name: "web", Hosts: []string{"web.example.com"}}}},
		{Port: 9090, Protocol: "tcp", Services: []api.IngressService{{Name: "db"}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ce.Set(&api.TerminatingGatewayConfigEntry{Kind: api.TerminatingGateway, Name: "term", Services: []api.LinkedService{
		{Name: "billing", CAFile: "/ca.pem", SNI: "billing.example.com"}}}, nil); err != nil {
		t.Fatal(err)
	}
	gs, meta, err := c.Catalog().GatewayServices("ingress", nil)
	if err != nil || len(gs) != 2 {
		t.Fatalf("gateway-services ingress: %v %+v", err, gs)
	}
	if g := gs[1]; g.Service.Name != "web" || g.Gateway.Name != "ingress" || g.GatewayKind != api.ServiceKindIngressGateway ||
		g.Port != 8080 || g.Protocol != "http" || fmt.Sprint(g.Hosts) != "[web.example.com]" {
		t.Errorf("ingress web: %+v", g)
	}
	term, _, err := c.Catalog().GatewayServices("term", nil)
	if err != nil || len(term) != 1 || term[0].Service.Name != "billing" || term[0].CAFile != "/ca.pem" ||
		term[0].SNI != "billing.example.com" || term[0].GatewayKind != api.ServiceKindTerminatingGateway {
		t.Fatalf("gateway-services term: %v %+v", err, term)
	}

	// Blocking: a wildcard listener wakes the read, and "*" stands for the
	// catalog's typical services.
	done := make(chan []*api.GatewayService, 1)
	go func() {
		gs, _, err := c.Catalog().GatewayServices("ingress", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- gs
	}()
	if _, _, err := ce.Set(&api.IngressGatewayConfigEntry{Kind: api.IngressGateway, Name: "ingress", Listeners: []api.IngressListener{
		{Port: 8080, Protocol: "http", Services: []api.IngressService{{Name: "*"}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case gs := <-done:
		var names []string
		for _, g := range gs {
			if !g.FromWildcard {
				t.Errorf("%s not FromWildcard", g.Service.Name)
			}
			names = append(names, g.Service.Name)
		}
		sort.Strings(names)
		if fmt.Sprint(names) != "[api billing web]" {
			t.Fatalf("wildcard services: %v", names)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("blocking gateway-services did not wake")
	}

	// /v1/health/ingress/web: the ingress gateway's instance.
	entries, _, err := c.Health().Ingress("web", false, nil)
	if err != nil || len(entries) != 1 || entries[0].Service.Service != "ingress" || entries[0].Service.Kind != api.ServiceKindIngressGateway {
		t.Fatalf("health/ingress/web: %v %+v", err, entries)
	}
	if none, _, err := c.Health().Ingress("nothing-routes-here", false, nil); err != nil || len(none) != 1 {
		// "*" routes every name to the gateway, as in Consul.
		t.Fatalf("health/ingress through the wildcard: %v %+v", err, none)
	}
	dc := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	poll.Eventually(t, 30*time.Second, "web.ingress.consul answers the gateway", func() (bool, string) {
		m := new(dns.Msg)
		m.SetQuestion("web.ingress.consul.", dns.TypeSRV)
		r, _, err := dc.Exchange(m, a.DNSAddr())
		if err != nil {
			return false, err.Error()
		}
		return len(r.Answer) == 1 && r.Answer[0].(*dns.SRV).Port == 8443, r.String()
	})
	// Without the entry, no gateway routes to web.
	if _, err := ce.Delete(api.IngressGateway, "ingress", nil); err != nil {
		t.Fatal(err)
	}
	if entries, _, err := c.Health().Ingress("web", false, nil); err != nil || len(entries) != 0 {
		t.Fatalf("health/ingress/web without the entry: %v %+v", err, entries)
	}
}
