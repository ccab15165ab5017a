package httpapi_test

import (
	"testing"

	"github.com/hashicorp/consul/api"
)

// uiSummary is what the test reads of /v1/internal/ui/services.
type uiSummary struct {
	Name                                         string
	Tags, Nodes                                  []string
	InstanceCount                                int
	ChecksPassing, ChecksWarning, ChecksCritical int
	Datacenter                                   string
}

type uiNodeRow struct {
	Node     string
	Services []api.AgentService
	Checks   []api.HealthCheck
}

func uiServices(t *testing.T, c *api.Client, q *api.QueryOptions) ([]uiSummary, *api.QueryMeta) {
	t.Helper()
	var out []uiSummary
	meta, err := c.Raw().Query("/v1/internal/ui/services", &out, q)
	if err != nil {
		t.Fatalf("ui services: %v", err)
	}
	return out, meta
}

func register(t *testing.T, c *api.Client, node, id, name string, tags []string, checks ...*api.HealthCheck) {
	t.Helper()
	reg := &api.CatalogRegistration{Node: node, Address: "10.0.0.1",
		Service: &api.AgentService{ID: id, Service: name, Tags: tags, Port: 80}, Checks: checks}
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatalf("register %s/%s: %v", node, id, err)
	}
}

func TestUIServicesAndNodesSummarizeTheCatalog(t *testing.T) {
	c, _ := newClient(t)
	register(t, c, "n1", "web1", "web", []string{"v1"},
		&api.HealthCheck{CheckID: "node-ok", Name: "node", Status: "passing"},
		&api.HealthCheck{CheckID: "web1-http", Name: "http", Status: "critical", ServiceID: "web1"})
	register(t, c, "n1", "web1b", "web", []string{"v2"},
		&api.HealthCheck{CheckID: "web1b-http", Name: "http", Status: "warning", ServiceID: "web1b"})
	register(t, c, "n2", "web2", "web", []string{"v1"})
	register(t, c, "n2", "db", "db", nil)

	list, meta := uiServices(t, c, nil)
	byName := map[string]uiSummary{}
	for _, s := range list {
		byName[s.Name] = s
	}
	web := byName["web"]
	// The node check of n1 counts once for web, though two instances of
	// web are on n1.
	if web.InstanceCount != 3 || web.ChecksPassing != 1 || web.ChecksWarning != 1 || web.ChecksCritical != 1 ||
		len(web.Nodes) != 2 || len(web.Tags) != 2 || web.Datacenter != "dc1" {
		t.Fatalf("web summary: %+v", web)
	}
	if len(list) < 2 || byName["db"].InstanceCount != 1 {
		t.Fatalf("summaries: %+v", list)
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].Name >= list[i].Name {
			t.Fatalf("summaries not sorted by name: %+v", list)
		}
	}

	// A check turning critical wakes a blocking query on the summaries
	// (other changes to the catalog may wake it first: ask again from the
	// index answered until web shows it).
	done := make(chan uiSummary, 1)
	go func() {
		index := meta.LastIndex
		for range 50 {
			var out []uiSummary
			m, err := c.Raw().Query("/v1/internal/ui/services", &out, &api.QueryOptions{WaitIndex: index})
			if err != nil {
				break
			}
			index = m.LastIndex
			for _, s := range out {
				if s.Name == "web" && s.ChecksCritical == 2 {
					done <- s
					return
				}
			}
		}
		close(done)
	}()
	register(t, c, "n2", "web2", "web", []string{"v1"},
		&api.HealthCheck{CheckID: "web2-http", Name: "http", Status: "critical", ServiceID: "web2"})
	if s, ok := <-done; !ok || s.InstanceCount != 3 {
		t.Fatalf("web after a check failed: %+v (a blocking query saw it: %v)", s, ok)
	}

	var nodes []uiNodeRow
	if _, err := c.Raw().Query("/v1/internal/ui/nodes", &nodes, nil); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range nodes {
		if n.Node == "n1" {
			found = true
			if len(n.Services) != 2 || len(n.Checks) != 3 {
				t.Fatalf("n1: %+v", n)
			}
		}
	}
	if !found {
		t.Fatalf("nodes: %+v", nodes)
	}
}

func TestUIServicesAreFilteredByACL(t *testing.T) {
	a, _, _, root := aclServer(t, "-hcl", `acl { default_policy = "deny" }`)
	needsEnforcement(t, a.HTTPAddr())
	needsRulesParser(t)
	register(t, root, "n1", "web1", "web", nil)
	register(t, root, "n1", "db1", "db", nil)
	policy, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "web-reader",
		Rules: `service "web" { policy = "read" } node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: tok.SecretID})
	list, _ := uiServices(t, c, nil)
	if len(list) != 1 || list[0].Name != "web" {
		t.Fatalf("a web reader's summaries: %+v", list)
	}
	var nodes []uiNodeRow
	if _, err := c.Raw().Query("/v1/internal/ui/nodes", &nodes, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		for _, sv := range n.Services {
			if sv.Service == "db" {
				t.Fatalf("a web reader sees db on %s", n.Node)
			}
		}
	}
}
