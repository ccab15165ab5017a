package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// registerInstance registers a node with one instance of a service and a
// service check of the given status, through the catalog.
func registerInstance(t *testing.T, c *api.Client, node, addr, id, service, status string, nodeMeta map[string]string, tags ...string) {
	t.Helper()
	_, err := c.Catalog().Register(&api.CatalogRegistration{
		Node: node, Address: addr, NodeMeta: nodeMeta,
		Service: &api.AgentService{ID: id, Service: service, Port: 8080, Tags: tags, Meta: map[string]string{"version": id}},
		Check:   &api.AgentCheck{CheckID: id + "-alive", Name: "alive", ServiceID: id, Status: status},
	}, nil)
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

func executedIDs(t *testing.T, pq *api.PreparedQuery, idOrName string, q *api.QueryOptions) []string {
	t.Helper()
	res, _, err := pq.Execute(idOrName, q)
	if err != nil {
		t.Fatalf("execute %s: %v", idOrName, err)
	}
	var ids []string
	for _, e := range res.Nodes {
		ids = append(ids, e.Service.ID)
	}
	slices.Sort(ids)
	return ids
}

// rawStatus does a request and returns the status and the body.
func rawStatus(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestPreparedQueryLifecycle(t *testing.T) {
	c, base := newClient(t)
	pq := c.PreparedQuery()
	registerInstance(t, c, "n1", "10.0.0.1", "web-1", "web", "passing", map[string]string{"rack": "a"}, "v1", "primary")
	registerInstance(t, c, "n2", "10.0.0.2", "web-2", "web", "warning", map[string]string{"rack": "b"}, "v1")
	registerInstance(t, c, "n3", "10.0.0.3", "web-3", "web", "critical", map[string]string{"rack": "a"}, "v1")
	registerInstance(t, c, "n4", "10.0.0.4", "web-4", "web", "passing", map[string]string{"rack": "b"}, "v2")

	def := &api.PreparedQueryDefinition{Name: "web-all", Service: api.ServiceQuery{Service: "web"}, DNS: api.QueryDNSOptions{TTL: "10s"}}
	id, _, err := pq.Create(def, nil)
	if err != nil || len(id) != 36 {
		t.Fatalf("create: %q %v", id, err)
	}

	// Get answers a list of one, List every query.
	got, meta, err := pq.Get(id, nil)
	if err != nil || len(got) != 1 || got[0].ID != id || got[0].Name != "web-all" || got[0].DNS.TTL != "10s" || meta.LastIndex == 0 {
		t.Fatalf("get: %v %+v", err, got)
	}
	list, _, err := pq.List(nil)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("list: %v %+v", err, list)
	}

	// Executing by ID and by name leaves out the critical instance only.
	for _, by := range []string{id, "web-all", "WEB-ALL"} {
		if ids := executedIDs(t, pq, by, nil); !slices.Equal(ids, []string{"web-1", "web-2", "web-4"}) {
			t.Fatalf("execute by %s: %v", by, ids)
		}
	}
	res, _, err := pq.Execute(id, nil)
	if err != nil || res.Service != "web" || res.Datacenter != "dc1" || res.DNS.TTL != "10s" || res.Failovers != 0 {
		t.Fatalf("execute: %v %+v", err, res)
	}
	for _, e := range res.Nodes {
		if e.Node == nil || e.Service == nil || len(e.Checks) == 0 || e.Node.Address == "" {
			t.Fatalf("execute answer is not in /v1/health/service's shape: %+v", e)
		}
	}

	// ?limit trims after filtering (the client has no option for it).
	code, body := rawStatus(t, "GET", base+"/v1/query/"+id+"/execute?limit=2", "")
	var limited api.PreparedQueryExecuteResponse
	if code != 200 || json.Unmarshal([]byte(body), &limited) != nil || len(limited.Nodes) != 2 {
		t.Fatalf("limit 2: %d %s", code, body)
	}
	if code, body := rawStatus(t, "GET", base+"/v1/query/"+id+"/execute?limit=x", ""); code != 500 || !strings.HasPrefix(body, "Bad limit: ") {
		t.Fatalf("bad limit: %d %s", code, body)
	}
	// ?near=_agent and ?connect are accepted.
	if ids := executedIDs(t, pq, id, &api.QueryOptions{Near: "_agent", Connect: true}); len(ids) != 3 {
		t.Fatalf("near and connect: %v", ids)
	}

	// An update replaces the definition: OnlyPassing, tags (with a
	// forbidden one), node meta, ignored checks.
	update := func(sq api.ServiceQuery) {
		t.Helper()
		if _, err := pq.Update(&api.PreparedQueryDefinition{ID: id, Name: "web-all", Service: sq}, nil); err != nil {
			t.Fatalf("update: %v", err)
		}
	}
	for _, tc := range []struct {
		sq   api.ServiceQuery
		want []string
	}{
		{api.ServiceQuery{Service: "web", OnlyPassing: true}, []string{"web-1", "web-4"}},
		{api.ServiceQuery{Service: "web", Tags: []string{"V1"}}, []string{"web-1", "web-2"}},
		{api.ServiceQuery{Service: "web", Tags: []string{"v1", "!primary"}}, []string{"web-2"}},
		{api.ServiceQuery{Service: "web", NodeMeta: map[string]string{"rack": "b"}}, []string{"web-2", "web-4"}},
		{api.ServiceQuery{Service: "web", ServiceMeta: map[string]string{"version": "web-4"}}, []string{"web-4"}},
		{api.ServiceQuery{Service: "web", IgnoreCheckIDs: []string{"web-3-alive"}}, []string{"web-1", "web-2", "web-3", "web-4"}},
	} {
		update(tc.sq)
		if ids := executedIDs(t, pq, id, nil); !slices.Equal(ids, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.sq, ids, tc.want)
		}
	}
	// Explain answers the query itself.
	code, body = rawStatus(t, "GET", base+"/v1/query/web-all/explain", "")
	var explained struct{ Query api.PreparedQueryDefinition }
	if code != 200 || json.Unmarshal([]byte(body), &explained) != nil || explained.Query.ID != id {
		t.Fatalf("explain: %d %s", code, body)
	}

	// Delete, then everything about it is 404 "Query not found".
	if _, err := pq.Delete(id, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/query/" + id, "/v1/query/" + id + "/execute", "/v1/query/web-all/explain"} {
		if code, body := rawStatus(t, "GET", base+path, ""); code != 404 || body != "Query not found" {
			t.Errorf("GET %s: %d %q", path, code, body)
		}
	}
	if list, _, _ := pq.List(nil); len(list) != 0 {
		t.Errorf("list after delete: %+v", list)
	}
}

func TestPreparedQueryTemplates(t *testing.T) {
	c, base := newClient(t)
	pq := c.PreparedQuery()
	registerInstance(t, c, "n1", "10.0.0.1", "api-1", "api", "passing", nil, "blue")
	registerInstance(t, c, "n2", "10.0.0.2", "api-2", "api", "passing", nil, "green")
	registerInstance(t, c, "n3", "10.0.0.3", "db-1", "db", "passing", nil)

	// A catch-all template and a longer prefix: the longest prefix wins.
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{
		Template: api.QueryTemplate{Type: "name_prefix_match"},
		Service:  api.ServiceQuery{Service: "${name.full}"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{
		Name:     "color-",
		Template: api.QueryTemplate{Type: "name_prefix_match", Regexp: `^color-([a-z]+)-(.*)$`, RemoveEmptyTags: true},
		Service:  api.ServiceQuery{Service: "${match(2)}", Tags: []string{"${match(1)}", "${match(3)}"}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if ids := executedIDs(t, pq, "db", nil); !slices.Equal(ids, []string{"db-1"}) {
		t.Fatalf("catch-all for db: %v", ids)
	}
	if ids := executedIDs(t, pq, "api", nil); len(ids) != 2 {
		t.Fatalf("catch-all for api: %v", ids)
	}
	res, _, err := pq.Execute("color-green-api", nil)
	if err != nil || res.Service != "api" || len(res.Nodes) != 1 || res.Nodes[0].Service.ID != "api-2" {
		t.Fatalf("color-green-api: %v %+v", err, res)
	}

	code, body := rawStatus(t, "GET", base+"/v1/query/color-blue-api/explain", "")
	var explained struct{ Query api.PreparedQueryDefinition }
	if code != 200 || json.Unmarshal([]byte(body), &explained) != nil ||
		explained.Query.Service.Service != "api" || !slices.Equal(explained.Query.Service.Tags, []string{"blue"}) {
		t.Fatalf("explain renders the template (empty tags removed): %d %s", code, body)
	}

	// Refusals, with Consul's codes and words.
	for _, tc := range []struct{ body, want string }{
		{`{"Name": "x"}`, "Invalid prepared query: Must provide a Service name to query"},
		{`{"Service": {"Service": "web"}}`, "Invalid prepared query: Must be bound to a session"},
		{`{"Name": "color-", "Service": {"Service": "web"}}`, "name 'color-' aliases an existing query name"},
		{`{"Template": {"Type": "name_prefix_match"}, "Service": {"Service": "x"}}`, "a query template with an empty name already exists"},
		{`{"Name": "t", "Template": {"Type": "name_prefix_match", "Regexp": "("}, "Service": {"Service": "x"}}`,
			"failed compiling template: Bad Regexp: error parsing regexp: missing closing ): `(`"},
		{`{"Name": "t", "Template": {"Type": "other"}, "Service": {"Service": "x"}}`, "failed compiling template: Bad Template.Type 'other'"},
		{`{"Name": "t", "Service": {"Service": "x"}, "DNS": {"TTL": "soon"}}`, `Invalid prepared query: Bad DNS TTL 'soon': time: invalid duration "soon"`},
		{`{"Name": "t", "Session": "nope", "Service": {"Service": "x"}}`, `invalid session "nope"`},
	} {
		if code, got := rawStatus(t, "POST", base+"/v1/query", tc.body); code != 500 || got != tc.want {
			t.Errorf("POST %s: %d %q, want 500 %q", tc.body, code, got, tc.want)
		}
	}
	if code, got := rawStatus(t, "DELETE", base+"/v1/query/11111111-1111-1111-1111-111111111111", ""); code != 500 ||
		got != "Cannot modify non-existent prepared query: '11111111-1111-1111-1111-111111111111'" {
		t.Errorf("delete of an unknown query: %d %q", code, got)
	}
	if code, _ := rawStatus(t, "PUT", base+"/v1/query/x/execute", ""); code != 405 {
		t.Errorf("PUT execute: %d", code)
	}
}

// A query bound to a session is deleted when the session is destroyed.
func TestPreparedQueryGoesWithItsSession(t *testing.T) {
	c, _ := newClient(t)
	sid, _, err := c.Session().Create(&api.SessionEntry{Name: "owner"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pq := c.PreparedQuery()
	id, _, err := pq.Create(&api.PreparedQueryDefinition{Session: sid, Service: api.ServiceQuery{Service: "web"}}, nil)
	if err != nil {
		t.Fatalf("an anonymous query bound to a session: %v", err)
	}
	other, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "unbound", Service: api.ServiceQuery{Service: "web"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// It stays while its session lives.
	if got, _, err := pq.Get(id, nil); err != nil || len(got) != 1 || got[0].Session != sid {
		t.Fatalf("get: %v %+v", err, got)
	}
	if _, err := c.Session().Destroy(sid, nil); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 20*time.Second, "the query is deleted with its session", func() (bool, string) {
		list, _, err := pq.List(nil)
		if err != nil {
			return false, err.Error()
		}
		ids := []string{}
		for _, q := range list {
			ids = append(ids, q.ID)
		}
		return slices.Equal(ids, []string{other}), strings.Join(ids, ",")
	})
}
