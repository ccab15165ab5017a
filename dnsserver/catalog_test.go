package dnsserver

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/miekg/dns"
)

// memCatalog stands in for the catalog projection: instances joined with
// their node and the checks that apply to them, looked up without case.
type memCatalog struct {
	mu        sync.RWMutex
	nodes     map[string]*event.Node
	instances map[string][]Instance
}

func (c *memCatalog) ServiceInstances(service string) []Instance {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.instances[strings.ToLower(service)]
}

func (c *memCatalog) Node(name string) (*event.Node, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, ok := c.nodes[strings.ToLower(name)]
	return n, ok
}

// world is a catalog's content before it is joined.
type world struct {
	nodes    []*event.Node
	services []*event.Service
	checks   []*event.Check
}

func (w world) catalog() *memCatalog {
	c := &memCatalog{nodes: map[string]*event.Node{}, instances: map[string][]Instance{}}
	for _, n := range w.nodes {
		c.nodes[strings.ToLower(n.Node)] = n
	}
	for _, s := range w.services {
		in := Instance{Node: c.nodes[strings.ToLower(s.Node)], Service: s}
		for _, ch := range w.checks {
			if ch.Node == s.Node && (ch.ServiceID == "" || ch.ServiceID == s.ID) {
				in.Checks = append(in.Checks, ch)
			}
		}
		key := strings.ToLower(s.Service)
		c.instances[key] = append(c.instances[key], in)
	}
	return c
}

func node(name, addr string, meta map[string]string) *event.Node {
	return &event.Node{ID: name, Node: name, Address: addr, Datacenter: "dc1", Meta: meta}
}

func svc(nodeName, id, name string, port int, tags ...string) *event.Service {
	return &event.Service{Node: nodeName, ID: id, Service: name, Port: port, Tags: tags}
}

func check(nodeName, id, serviceID, status string) *event.Check {
	return &event.Check{Node: nodeName, CheckID: id, Name: id, ServiceID: serviceID, Status: status}
}

// fixture is the catalog most tests answer from.
func fixture() world {
	w := world{
		nodes: []*event.Node{
			node("n1", "10.0.0.1", map[string]string{"rack": "r1", "rfc1035-note": "hello world"}),
			node("n2", "10.0.0.2", nil),
			node("n3", "10.0.0.3", nil),
			node("n6", "2001:db8::6", nil),
			node("ext", "ext-host.example.org", nil),
			node("nm", "10.0.0.9", nil),
			node("bad name", "10.0.0.7", nil),
			node("fat", "10.0.0.8", map[string]string{"blob": strings.Repeat("x", 600)}),
		},
	}
	web1 := svc("n1", "web1", "web", 8080, "primary", "v1")
	web2 := svc("n2", "web2", "web", 8080, "v1")
	web3 := svc("n3", "web3", "web", 8080, "v1")
	api1 := svc("n1", "api1", "api", 9000)
	api2 := svc("n2", "api2", "api", 9000)
	api1.Weights = event.Weights{Passing: 10, Warning: 1}
	api2.Weights = event.Weights{Passing: 10, Warning: 1}
	db1 := svc("n1", "db1", "db", 5432)
	db1.Address = "192.168.1.10"
	alias := svc("n2", "alias1", "alias", 5432)
	alias.Address = "db.service.consul"
	self := svc("n2", "selfref1", "selfref", 80)
	self.Address = "selfref.service.consul"
	w.services = []*event.Service{
		web1, web2, web3, api1, api2, db1, alias, self,
		svc("n6", "v6a", "v6", 80),
		svc("nm", "maint1", "maint", 80),
		svc("n2", "maint2", "maint", 80),
		svc("n1", "dead1", "dead", 80),
		svc("ext", "ext1", "ext", 443),
		svc("n2", "billing1", "Billing", 7000),
		svc("n1", "consul", "consul", 8300),
		svc("bad name", "odd1", "oddnode", 81),
		svc("n1", "west1", "west", 81),
	}
	w.checks = []*event.Check{
		check("n1", "serfHealth", "", event.HealthPassing),
		check("n2", "serfHealth", "", event.HealthPassing),
		check("n3", "service:web3", "web3", event.HealthCritical),
		check("n1", "service:api1", "api1", event.HealthPassing),
		check("n2", "service:api2", "api2", event.HealthWarning),
		check("nm", "_node_maintenance", "", event.HealthCritical),
		check("n2", "_service_maintenance:maint2", "maint2", event.HealthCritical),
		check("n1", "service:dead1", "dead1", event.HealthCritical),
	}
	return w
}

// big adds a service with n passing instances, each on its own node.
func (w world) big(name string, n int) world {
	for i := range n {
		nn := fmt.Sprintf("%s-node-with-a-longish-name-%02d", name, i)
		w.nodes = append(w.nodes, node(nn, fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), nil))
		w.services = append(w.services, svc(nn, fmt.Sprintf("%s%d", name, i), name, 8000+i))
	}
	return w
}

// startServer starts a server on an ephemeral port and stops it with the test.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := newServer(t, cfg)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// query asks addr over network ("udp" or "tcp") without EDNS0.
func query(t testing.TB, network, addr, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	return exchange(t, network, addr, m)
}

func exchange(t testing.TB, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: dns.MaxMsgSize}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], err)
	}
	return r
}

// rr parses a record in zone-file syntax, the way CoreDNS's test helpers do.
func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(fmt.Sprintf("bad test record %q: %v", s, err))
	}
	return r
}
