package preparedquery

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

func tmpl(name, re string, sq event.ServiceQuery) *event.PreparedQuery {
	return &event.PreparedQuery{ID: "t-" + name, Name: name, Service: sq,
		Template: event.QueryTemplate{Type: TemplateNamePrefixMatch, Regexp: re}}
}

func TestRender(t *testing.T) {
	q := tmpl("geo-db-", `^geo-db-(.*?)-([^\-]+?)$`, event.ServiceQuery{
		Service:        "mysql-${match(1)}",
		Near:           "${name.suffix}",
		Failover:       event.QueryFailoverOptions{Datacenters: []string{"dc-${match(2)}", "$${literal}"}},
		Tags:           []string{"${match(2)}", "${match(9)}", "${name.full}", "${name.prefix}"},
		NodeMeta:       map[string]string{"rack": "${match(2)}"},
		IgnoreCheckIDs: []string{"plain"},
	})
	ct, err := Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ct.Render("geo-db-customer-primary")
	if err != nil {
		t.Fatal(err)
	}
	want := event.ServiceQuery{
		Service:        "mysql-customer",
		Near:           "customer-primary",
		Failover:       event.QueryFailoverOptions{Datacenters: []string{"dc-primary", "${literal}"}},
		Tags:           []string{"primary", "", "geo-db-customer-primary", "geo-db-"},
		NodeMeta:       map[string]string{"rack": "primary"},
		IgnoreCheckIDs: []string{"plain"},
	}
	if !reflect.DeepEqual(got.Service, want) {
		t.Fatalf("rendered\n got %+v\nwant %+v", got.Service, want)
	}
	// The stored query is untouched.
	if q.Service.Tags[0] != "${match(2)}" || q.Service.NodeMeta["rack"] != "${match(2)}" {
		t.Fatalf("render wrote into the template: %+v", q.Service)
	}

	q.Template.RemoveEmptyTags = true
	ct, _ = Compile(q)
	got, _ = ct.Render("geo-db-customer-primary")
	if len(got.Service.Tags) != 3 {
		t.Fatalf("RemoveEmptyTags kept %q", got.Service.Tags)
	}
}

func TestCompileRefusals(t *testing.T) {
	for _, tc := range []struct {
		q    *event.PreparedQuery
		want string
	}{
		{&event.PreparedQuery{Template: event.QueryTemplate{Type: "nope"}}, "Bad Template.Type 'nope'"},
		{tmpl("x", "", event.ServiceQuery{Service: "${name.full"}), "Bad format '${name.full' in Service.Service: "},
		{tmpl("x", "", event.ServiceQuery{Service: "web", Tags: []string{"${1 + 2}"}}), "Bad format '${1 + 2}' in Service.Tags[0]: "},
		{tmpl("x", "", event.ServiceQuery{Service: "${agent.nope}"}), "Bad evaluation for '${agent.nope}' in Service.Service: unknown variable accessed: agent.nope"},
		{tmpl("x", "(", event.ServiceQuery{Service: "web"}), "Bad Regexp: "},
	} {
		if _, err := Compile(tc.q); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q...", tc.q, err, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	static := &event.PreparedQuery{ID: "11111111-1111-1111-1111-111111111111", Name: "geo-static", Service: event.ServiceQuery{Service: "static"}}
	catchAll := tmpl("", "", event.ServiceQuery{Service: "${name.full}"})
	catchAll.ID = "22222222-2222-2222-2222-222222222222"
	geo := tmpl("geo-", "", event.ServiceQuery{Service: "${name.suffix}"})
	queries := []*event.PreparedQuery{static, catchAll, geo}
	for _, tc := range []struct{ lookup, service string }{
		{static.ID, "static"},
		{strings.ToUpper(static.ID), "static"},
		{"GEO-STATIC", "static"}, // an exact name beats a template prefix
		{"geo-web", "web"},       // the longest prefix wins
		{"web", "web"},           // the empty prefix matches everything else
	} {
		q, err := Resolve(queries, tc.lookup)
		if err != nil || q.Service.Service != tc.service {
			t.Errorf("Resolve(%q) = %+v, %v; want service %q", tc.lookup, q, err, tc.service)
		}
	}
	if _, err := Resolve(queries, catchAll.ID); err == nil || err.Error() != "prepared query templates can only be resolved up by name, not by ID" {
		t.Errorf("a template by ID: %v", err)
	}
	if _, err := Resolve(queries[:1], "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no match: %v", err)
	}
	if _, err := Resolve(queries, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := event.ServiceQuery{Service: "web"}
	for _, tc := range []struct {
		q    event.PreparedQuery
		want string
	}{
		{event.PreparedQuery{Name: "a", Service: ok}, ""},
		{event.PreparedQuery{Session: "s", Service: ok}, ""},
		{event.PreparedQuery{Service: ok}, "Invalid prepared query: Must be bound to a session"},
		{event.PreparedQuery{Name: "a"}, "Invalid prepared query: Must provide a Service name to query"},
		{event.PreparedQuery{Name: "a", Token: RedactedToken, Service: ok}, "Invalid prepared query: Bad Token '<hidden>', it looks like a query definition with a redacted token was submitted"},
		{event.PreparedQuery{Name: "a", Service: event.ServiceQuery{Service: "web", Failover: event.QueryFailoverOptions{NearestN: -1}}}, "Invalid prepared query: Bad NearestN '-1', must be >= 0"},
		{event.PreparedQuery{Name: "a", Service: event.ServiceQuery{Service: "web", NodeMeta: map[string]string{"a b": "x"}}}, "Invalid prepared query: Key contains invalid characters"},
		{event.PreparedQuery{Name: "a", Service: ok, DNS: event.QueryDNSOptions{TTL: "-1s"}}, "Invalid prepared query: DNS TTL '-1000000000', must be >=0"},
	} {
		err := Validate(&tc.q)
		if (tc.want == "" && err != nil) || (tc.want != "" && (err == nil || err.Error() != tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.q, err, tc.want)
		}
	}
}

func TestFilter(t *testing.T) {
	node := &event.Node{Node: "n1", Meta: map[string]string{"rack": "a"}}
	inst := func(id, status string, tags ...string) projections.Instance {
		return projections.Instance{Node: node, Service: &event.Service{ID: id, Service: "web", Tags: tags},
			Checks: []*event.Check{{CheckID: id + "-c", ServiceID: id, Status: status}}}
	}
	all := []projections.Instance{inst("ok", "passing", "A"), inst("warn", "warning", "a", "b"), inst("bad", "critical", "a")}
	ids := func(q event.ServiceQuery) string {
		var out []string
		for _, a := range Filter(&event.PreparedQuery{Service: q}, all) {
			out = append(out, a.Service.ID+"="+a.Health)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		q    event.ServiceQuery
		want string
	}{
		{event.ServiceQuery{}, "ok=passing,warn=warning"},
		{event.ServiceQuery{OnlyPassing: true}, "ok=passing"},
		{event.ServiceQuery{IgnoreCheckIDs: []string{"bad-c"}}, "ok=passing,warn=warning,bad=passing"},
		{event.ServiceQuery{Tags: []string{"a", "!B"}}, "ok=passing"},
		{event.ServiceQuery{NodeMeta: map[string]string{"rack": "b"}}, ""},
	} {
		if got := ids(tc.q); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.q, got, tc.want)
		}
	}
	answers := Filter(&event.PreparedQuery{}, all)
	if got := Limit(answers, 1); len(got) != 1 {
		t.Errorf("limit: %d", len(got))
	}
	other := projections.Instance{Node: &event.Node{Node: "me"}, Service: &event.Service{ID: "mine"}}
	answers = append(answers, Answer{Instance: other, Health: "passing"})
	Order(answers, "_agent", "ME")
	if answers[0].Node.Node != "me" {
		t.Errorf("_agent did not come first: %v", answers[0].Node.Node)
	}
}
