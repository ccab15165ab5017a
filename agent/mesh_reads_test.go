package agent_test

import (
	"fmt"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// A sidecar registered through Connect.SidecarService and a
// Connect-native instance are what /v1/health/connect/web,
// /v1/catalog/connect/web and DNS web.connect.consul answer, with
// ?filter and blocking; the sidecar goes with its parent.
func TestMeshReads(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	// The sidecar's TCP check must pass for DNS to answer it: give it a
	// port something listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sidePort := l.Addr().(*net.TCPAddr).Port
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 8080,
		Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{Port: sidePort}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-native", Name: "web", Port: 8443,
		Connect: &api.AgentServiceConnect{Native: true}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "db-1", Name: "db", Port: 5432,
		Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{}}}); err != nil {
		t.Fatal(err)
	}

	ids := func(entries []*api.ServiceEntry) []string {
		var out []string
		for _, e := range entries {
			out = append(out, e.Service.ID)
		}
		sort.Strings(out)
		return out
	}
	entries, meta, err := c.Health().Connect("web", "", false, nil)
	if err != nil || fmt.Sprint(ids(entries)) != "[web-1-sidecar-proxy web-native]" {
		t.Fatalf("health/connect/web: %v %v", err, ids(entries))
	}
	for _, e := range entries {
		if e.Service.ID == "web-1-sidecar-proxy" && (e.Service.Proxy.DestinationServiceName != "web" || len(e.Checks) != 3) {
			t.Errorf("sidecar entry: %+v checks %d", e.Service, len(e.Checks))
		}
	}
	cat, _, err := c.Catalog().Connect("web", "", nil)
	if err != nil || len(cat) != 2 {
		t.Fatalf("catalog/connect/web: %v %+v", err, cat)
	}
	filtered, _, err := c.Health().Connect("web", "", false, &api.QueryOptions{Filter: `Service.Kind == "connect-proxy"`})
	if err != nil || fmt.Sprint(ids(filtered)) != "[web-1-sidecar-proxy]" {
		t.Fatalf("health/connect/web?filter: %v %v", err, ids(filtered))
	}
	if db, _, err := c.Health().Connect("db", "", false, nil); err != nil || fmt.Sprint(ids(db)) != "[db-1-sidecar-proxy]" {
		t.Fatalf("health/connect/db: %v %v", err, ids(db))
	}

	// DNS: the passing instances, the sidecar on its own port.
	dc := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	poll.Eventually(t, 30*time.Second, "web.connect.consul answers the sidecar and the native instance", func() (bool, string) {
		m := new(dns.Msg)
		m.SetQuestion("web.connect.consul.", dns.TypeSRV)
		r, _, err := dc.Exchange(m, a.DNSAddr())
		if err != nil {
			return false, err.Error()
		}
		var ports []int
		for _, rr := range r.Answer {
			if srv, ok := rr.(*dns.SRV); ok {
				ports = append(ports, int(srv.Port))
			}
		}
		sort.Ints(ports)
		want := []int{8443, sidePort}
		sort.Ints(want)
		checks, _ := c.Agent().Checks()
		var st []string
		for id, ch := range checks {
			st = append(st, id+"="+ch.Status+" "+ch.Output)
		}
		return fmt.Sprint(ports) == fmt.Sprint(want), fmt.Sprint(st) + r.String()
	})
	m := new(dns.Msg)
	m.SetQuestion("nothing.connect.consul.", dns.TypeSRV)
	if r, _, err := dc.Exchange(m, a.DNSAddr()); err != nil || r.Rcode != dns.RcodeNameError {
		t.Fatalf("nothing.connect.consul: %v %v", err, r)
	}

	// Blocking: a new proxy of web wakes a query waiting on the index
	// (checks settling may wake it first: wait again from the new index).
	_, meta, err = c.Health().Connect("web", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []*api.ServiceEntry, 1)
	go func() {
		index := meta.LastIndex
		for i := 0; i < 10; i++ {
			e, m, err := c.Health().Connect("web", "", false, &api.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second})
			if err != nil {
				t.Error(err)
				break
			}
			if len(e) == 3 || m.LastIndex == index {
				done <- e
				return
			}
			index = m.LastIndex
		}
		done <- nil
	}()
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.0.0.9",
		Service: &api.AgentService{Kind: api.ServiceKindConnectProxy, ID: "ext-web-proxy", Service: "ext-web-proxy", Port: 20000,
			Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: "web"}}}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-done:
		if fmt.Sprint(ids(e)) != "[ext-web-proxy web-1-sidecar-proxy web-native]" {
			t.Fatalf("blocking health/connect/web woke with %v", ids(e))
		}
	case <-time.After(25 * time.Second):
		t.Fatal("blocking health/connect/web did not wake")
	}

	// The sidecar goes with its parent.
	if err := c.Agent().ServiceDeregister("web-1"); err != nil {
		t.Fatal(err)
	}
	entries, _, err = c.Health().Connect("web", "", false, nil)
	if err != nil || fmt.Sprint(ids(entries)) != "[ext-web-proxy web-native]" {
		t.Fatalf("health/connect/web after deregister: %v %v", err, ids(entries))
	}
}
