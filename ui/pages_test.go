package ui_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/cli"
)

// startUI starts a -dev agent (the UI is on in -dev, as in Consul).
func startUI(t *testing.T, args ...string) (*agent.Agent, *api.Client) {
	t.Helper()
	a := agenttest.Start(t, append([]string{"-dev", "-ui", "-node=herald-dev"}, args...)...)
	return a, agenttest.Client(t, a.HTTPAddr())
}

// sel is a CSS attribute selector matching value exactly.
func sel(format, value string) string {
	return fmt.Sprintf(format, strings.ReplaceAll(value, `"`, `\"`))
}

// A service registered through the API appears on the open services page
// without a reload, and its TTL check failed through the API turns it
// critical there; the service's page shows the check and its output.
func TestServicesPageFollowsTheCatalogLive(t *testing.T) {
	a, c := startUI(t)
	catalogNeighbours(t, c)
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("services")
	p.waitFor("the services page lists the agent's own consul service", `document.querySelector('[data-service="consul"]')`)
	p.do("mark the document", "window.notReloaded = true")

	reg := &api.AgentServiceRegistration{
		ID: "web-1", Name: "web", Port: 8080, Tags: []string{"v2", "http"}, Meta: map[string]string{"team": "edge"},
		Check: &api.AgentServiceCheck{CheckID: "web-1-ttl", Name: "web alive", TTL: "10m"},
	}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().PassTTL("web-1-ttl", "serving"); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the registered service appears, passing", `document.querySelector('[data-service="web"].passing')`)
	p.waitFor("its tags are shown", `document.querySelector('[data-service="web"]').innerText.includes("v2")`)
	if ok, _ := eval[bool](p, "window.notReloaded === true"); !ok {
		t.Fatal("the page reloaded to show the new service")
	}

	delay := changeDelay(t, p, `document.querySelector('[data-service="web"].critical')`, func() {
		if err := c.Agent().FailTTL("web-1-ttl", "connection refused on :8080"); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("a TTL check failed through the API turned the service critical on the page in %v", delay)
	p.waitFor("critical services sort first", `document.querySelector('.vrow a').dataset.service === "web"`)
	p.shot("services")

	p.typeIn(`input[type=search]`, "consul")
	p.waitFor("the search leaves consul only", `!document.querySelector('[data-service="web"]') && document.querySelector('[data-service="consul"]')`)
	p.typeIn(`input[type=search]`, "")
	p.do("filter by health", `(() => { const s = document.querySelector('select[aria-label="Filter by health"]'); s.value = "critical"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
	p.waitFor("the health filter leaves web only", `document.querySelector('[data-service="web"]') && !document.querySelector('[data-service="consul"]')`)
	p.waitFor("the filter is in the address", `location.search.includes("health=critical")`)

	p.click(`[data-service="web"]`, "")
	p.waitFor("the service page shows the instance with its check output",
		`document.querySelector('[data-instance="web-1"].critical') && document.body.innerText.includes("connection refused on :8080") && document.body.innerText.includes("team")`)
	if err := c.Agent().PassTTL("web-1-ttl", "back"); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the instance turns passing live", `document.querySelector('[data-instance="web-1"].passing')`)
	p.shot("service")

	p.click(`a.button`, "History")
	p.waitFor("the service's history lists its registration",
		`document.querySelector('ol.history > li') && document.querySelector('ol.history').innerText.includes("register") && document.querySelector('ol.history').innerText.includes('"web-1"')`)
}

// The nodes page lists the agent's node; the node's page shows its
// services, checks, and a session with the lock it holds.
func TestNodePagesShowSessionsAndLocks(t *testing.T) {
	a, c := startUI(t)
	self, err := c.Agent().NodeName()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "db-1", Name: "db", Port: 5432}); err != nil {
		t.Fatal(err)
	}
	catalogNeighbours(t, c)
	id, _, err := c.Session().Create(&api.SessionEntry{Name: "leader-election", Node: self, Behavior: "release"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok, _, err := c.KV().Acquire(&api.KVPair{Key: "service/db/leader", Value: []byte(self), Session: id}, nil)
	if err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("nodes")
	p.waitFor("the nodes page lists the agent's node", sel(`document.querySelector('[data-node="%s"]')`, self))
	p.shot("nodes")
	p.click(sel(`[data-node="%s"]`, self), "")
	p.waitFor("the node's page shows its session and the lock it holds",
		`document.querySelector('.session') && document.querySelector('.session').innerText.includes("leader-election") && document.querySelector('a.lock') && document.querySelector('a.lock').innerText === "service/db/leader"`)
	p.waitFor("and its services", `document.body.innerText.includes("db-1")`)
	p.shot("node")
}

// catalogNeighbours registers a few more nodes, with services and checks
// (one of them failing), so that the pages show a catalog.
func catalogNeighbours(t *testing.T, c *api.Client) {
	t.Helper()
	for i, n := range []struct{ node, service, status, output string }{
		{"app-1", "payments", api.HealthPassing, "HTTP GET /health: 200 OK"},
		{"app-2", "payments", api.HealthWarning, "HTTP GET /health: 200 OK, latency 870 ms"},
		{"app-3", "checkout", api.HealthPassing, "HTTP GET /health: 200 OK"},
		{"db-1", "postgres", api.HealthPassing, "accepting connections"},
	} {
		reg := &api.CatalogRegistration{
			Node: n.node, Address: fmt.Sprintf("10.0.1.%d", i+10),
			Service: &api.AgentService{ID: n.service + "-" + n.node, Service: n.service, Port: 8443, Tags: []string{"prod"}},
			Check: &api.AgentCheck{Node: n.node, CheckID: "health-" + n.node, Name: n.service + " health", Status: n.status,
				Output: n.output, ServiceID: n.service + "-" + n.node},
		}
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// A key created, edited and deleted in the page is seen through the API and
// the CLI; JSON values are validated before they are saved; a folder is
// deleted after a confirmation.
func TestKVEditedInThePageIsSeenThroughTheAPIAndTheCLI(t *testing.T) {
	a, c := startUI(t)
	kv := c.KV()
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("kv/")
	p.waitFor("the KV root is live", `document.querySelector('.live.is-live')`)

	p.typeIn(`input[name=key]`, "app/config")
	p.click(`input[name=mode][value=json]`, "")
	p.typeIn(`textarea[name=value]`, `{"replicas": 3,`)
	p.waitFor("invalid JSON is refused", `document.body.innerText.includes("Invalid JSON") && document.querySelector('button[type=submit]').disabled`)
	p.typeIn(`textarea[name=value]`, `{"replicas": 3}`)
	p.typeIn(`input[name=flags]`, "42")
	p.waitFor("valid JSON can be saved", `!document.querySelector('button[type=submit]').disabled`)
	p.click(`button[type=submit]`, "Create")
	p.waitFor("the page moves to the new key", `location.pathname.endsWith("/kv/app/config") && document.querySelector('#loaded-index')`)

	pair, _, err := kv.Get("app/config", nil)
	if err != nil || pair == nil || string(pair.Value) != `{"replicas": 3}` || pair.Flags != 42 {
		t.Fatalf("the key created in the page, through the API: %+v %v", pair, err)
	}
	p.typeIn(`textarea[name=value]`, `{"replicas": 5}`)
	p.click(`button[type=submit]`, "Save")
	p.waitFor("the page reloads the saved key", fmt.Sprintf(`!document.querySelector('#loaded-index').innerText.includes("ModifyIndex %d ")`, pair.ModifyIndex))
	if out := herald(t, a, "kv", "get", "app/config"); strings.TrimSpace(out) != `{"replicas": 5}` {
		t.Fatalf("herald kv get app/config after the edit in the page: %q", out)
	}
	p.shot("kv-key")

	p.click(`header button.danger`, "Delete")
	p.waitFor("the delete asks first", `document.querySelector('dialog[open]')`)
	p.click(`dialog[open] button.danger`, "Delete")
	p.waitFor("the page moves to the folder", `location.pathname.endsWith("/kv/app/")`)
	if pair, _, err := kv.Get("app/config", nil); err != nil || pair != nil {
		t.Fatalf("the key deleted in the page, through the API: %+v %v", pair, err)
	}

	for _, k := range []string{"app/a", "app/sub/b"} {
		if _, err := kv.Put(&api.KVPair{Key: k, Value: []byte("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.waitFor("keys written through the API appear in the open folder", `document.querySelector('[data-key="app/a"]') && document.querySelector('[data-key="app/sub/"]')`)
	p.shot("kv-folder")
	p.click(`header button.danger`, "Delete folder")
	p.waitFor("the folder delete asks first", `document.querySelector('dialog[open]')`)
	p.shot("kv-folder-delete")
	p.click(`dialog[open] button`, "Cancel")
	if keys, _, err := kv.Keys("app/", "", nil); err != nil || len(keys) != 2 {
		t.Fatalf("after cancelling the folder delete: %v %v", keys, err)
	}
	p.waitFor("the dialog closes", `!document.querySelector('dialog[open]')`)
	p.click(`header button.danger`, "Delete folder")
	p.waitFor("the folder delete asks again", `document.querySelector('dialog[open]')`)
	p.click(`dialog[open] button.danger`, "Delete folder")
	p.waitFor("the page moves to the parent folder", `/\/kv\/$/.test(location.pathname)`)
	if keys, _, err := kv.Keys("app/", "", nil); err != nil || len(keys) != 0 {
		t.Fatalf("after the folder delete: %v %v", keys, err)
	}
}

// herald runs the CLI in process against the agent.
func herald(t *testing.T, a *agent.Agent, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	env := func(k string) string {
		if k == "CONSUL_HTTP_ADDR" {
			return a.HTTPAddr()
		}
		return ""
	}
	if code := cli.Run("herald", args, cli.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errs, Env: env}); code != 0 {
		t.Fatalf("herald %v: exit %d: %s", args, code, errs.String())
	}
	return out.String()
}

// A key changed underneath the page is not overwritten by a save: the page
// shows the conflict, and the value written through the API stays.
func TestKVSaveShowsAConflictWhenTheKeyChangedUnderneath(t *testing.T) {
	a, c := startUI(t)
	kv := c.KV()
	if _, err := kv.Put(&api.KVPair{Key: "db/url", Value: []byte("postgres://a")}, nil); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("kv/db/url")
	p.waitFor("the key is loaded", `document.querySelector('textarea[name=value]') && document.querySelector('textarea[name=value]').value === "postgres://a"`)
	p.typeIn(`textarea[name=value]`, "postgres://mine")
	if _, err := kv.Put(&api.KVPair{Key: "db/url", Value: []byte("postgres://theirs")}, nil); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the page notices the change", `document.querySelector('.notice')`)
	p.click(`button[type=submit]`, "Save")
	p.waitFor("the save shows a conflict", `document.querySelector('.conflict') && document.querySelector('.conflict').innerText.includes("postgres://theirs")`)
	p.shot("kv-conflict")
	pair, _, err := kv.Get("db/url", nil)
	if err != nil || pair == nil || string(pair.Value) != "postgres://theirs" {
		t.Fatalf("the concurrent write was overwritten: %+v %v", pair, err)
	}
}

// The history of a key lists its changes newest first, and shows the value
// it had at an earlier index.
func TestHistoryShowsAnEarlierValueAtAnEarlierIndex(t *testing.T) {
	a, c := startUI(t)
	kv := c.KV()
	var indexes []uint64
	for _, v := range []string{"one", "two", "three"} {
		if _, err := kv.Put(&api.KVPair{Key: "cfg/mode", Value: []byte(v)}, nil); err != nil {
			t.Fatal(err)
		}
		pair, _, err := kv.Get("cfg/mode", nil)
		if err != nil || pair == nil {
			t.Fatal(pair, err)
		}
		indexes = append(indexes, pair.ModifyIndex)
	}
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("kv/cfg/mode")
	p.waitFor("the key page links to its history", `document.querySelector('a.button[href$="/history/kv/cfg/mode"]')`)
	p.click(`a.button`, "History")
	p.waitFor("the history lists the three writes, newest first", fmt.Sprintf(
		`Array.from(document.querySelectorAll('ol.history > li')).map(li => li.dataset.index).slice(0, 3).join(",") === "%d,%d,%d"`,
		indexes[2], indexes[1], indexes[0]))
	p.waitFor("each with its diff", `Array.from(document.querySelectorAll('ol.history > li:first-child .diff .add')).some(e => e.innerText.includes('"three"')) && Array.from(document.querySelectorAll('ol.history > li:first-child .diff .del')).some(e => e.innerText.includes('"two"'))`)
	p.click(`ol.history button`, fmt.Sprintf("State at #%d", indexes[0]))
	p.waitFor("the key as it was at the first write", fmt.Sprintf(
		`document.querySelector('.at') && document.querySelector('.at').innerText.includes("index %d") && document.querySelector('.at .state').innerText.includes('"one"')`, indexes[0]))
	p.shot("history")
}

// The events page tails the changes, filtered by subject.
func TestEventsPageTailsChangesBySubject(t *testing.T) {
	a, c := startUI(t)
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("events?subject=" + "herald.dc1.kv.>")
	p.waitFor("the tail is live", `document.querySelector('.live.is-live')`)
	if _, err := c.KV().Put(&api.KVPair{Key: "tail/x", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "s1", Name: "s1"}); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the KV write is tailed", `document.querySelector('ol.events') && document.querySelector('ol.events').innerText.includes("tail/x")`)
	if _, err := c.KV().Delete("tail/x", nil); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the delete is tailed, newest first", `document.querySelector('ol.events > li .subject') && document.querySelector('ol.events > li').innerText.includes("kv.deleted")`)
	p.shot("events")
	if txt := p.text("ol.events"); strings.Contains(txt, `"s1"`) {
		t.Fatalf("a catalog change passed the kv subject filter: %s", txt)
	}
}

// The UI works the same on a client agent, from the client's own
// projections: a service registered on the client shows on its page.
func TestThePageWorksAgainstAClientAgent(t *testing.T) {
	srv := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-node=srv", "-data-dir="+t.TempDir(), "-ui")
	cs := agenttest.Client(t, srv.HTTPAddr())
	members, err := cs.Agent().Members(false)
	if err != nil || len(members) == 0 {
		t.Fatalf("members: %v %v", members, err)
	}
	cli := agenttest.Start(t, "-node=cli", "-data-dir="+t.TempDir(), "-ui",
		fmt.Sprintf("-retry-join=%s:%d", members[0].Addr, members[0].Port))
	cc := agenttest.Client(t, cli.HTTPAddr())
	if err := cc.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "api-1", Name: "api", Port: 9000}); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, cli.HTTPAddr(), 1280, 800)
	p.open("services")
	p.waitFor("the client agent's page lists the service registered on it", `document.querySelector('[data-service="api"]')`)
	if _, err := cc.KV().Put(&api.KVPair{Key: "via-client", Value: []byte("ok")}, nil); err != nil {
		t.Fatal(err)
	}
	p.open("kv/")
	p.waitFor("and the KV store", `document.querySelector('[data-key="via-client"]')`)
	p.open("nodes")
	p.waitFor("and both nodes", `document.querySelector('[data-node="srv"]') && document.querySelector('[data-node="cli"]')`)
}

// The services page is readable at a phone's width.
func TestServicesPageAtPhoneWidth(t *testing.T) {
	a, c := startUI(t)
	for i, name := range []string{"payments", "checkout", "search"} {
		reg := &api.AgentServiceRegistration{ID: name, Name: name, Port: 8000 + i, Tags: []string{"prod"}}
		if err := c.Agent().ServiceRegister(reg); err != nil {
			t.Fatal(err)
		}
	}
	p := openPage(t, a.HTTPAddr(), 390, 844)
	p.open("services")
	p.waitFor("the services show", `document.querySelector('[data-service="search"]')`)
	p.waitFor("nothing is wider than the screen", `document.documentElement.scrollWidth <= 390`)
	p.shot("services-390")

	// The other views fit too.
	if _, err := c.KV().Put(&api.KVPair{Key: "payments/config", Value: []byte(`{"currency": "EUR", "retries": 3}`)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, view := range []struct{ path, ready string }{
		{"services/payments", `document.querySelector('[data-instance="payments"]')`},
		{"nodes", `document.querySelector('[data-node="herald-dev"]')`},
		{"nodes/herald-dev", `document.querySelector('.checks')`},
		{"kv/payments/", `document.querySelector('[data-key="payments/config"]')`},
		{"kv/payments/config", `document.querySelector('textarea[name=value]')`},
		{"history/kv/payments/config", `document.querySelector('ol.history > li')`},
		{"events", `document.querySelector('.live.is-live')`},
	} {
		p.open(view.path)
		p.waitFor(view.path+" shows at 390 px", view.ready)
		p.waitFor(view.path+" is no wider than the screen", `document.documentElement.scrollWidth <= 390`)
	}
	p.open("kv/payments/config")
	p.waitFor("the key shows", `document.querySelector('textarea[name=value]')`)
	p.shot("kv-key-390")
}

// The pages work from the keyboard: from the search box, Tab reaches the
// filters and then the rows, and Enter opens a service.
func TestKeyboardReachesAndOpensAService(t *testing.T) {
	a, c := startUI(t)
	catalogNeighbours(t, c)
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("services")
	p.waitFor("the services show", `document.querySelector('[data-service="payments"]')`)
	p.do("focus the search box", `document.querySelector('input[type=search]').focus()`)
	var focused string
	for range 10 {
		p.run("press Tab", chromedp.KeyEvent(kb.Tab))
		focused, _ = eval[string](p, `document.activeElement.dataset.service || document.activeElement.tagName`)
		if focused == "payments" || focused == "checkout" || focused == "consul" || focused == "postgres" {
			break
		}
	}
	if focused != "payments" { // warning sorts before the passing ones
		t.Fatalf("after tabbing from the search box the focus is on %q, want the first row (payments)", focused)
	}
	p.run("press Enter", chromedp.KeyEvent(kb.Enter))
	p.waitFor("Enter opens the service", `location.pathname.endsWith("/services/payments") && document.querySelector('[data-instance]')`)
}

// tokens is a test resolver: a management token, and nothing for the
// anonymous one.
type tokens map[string]acl.Identity

func (ts tokens) Resolve(secret string) (acl.Identity, error) {
	if id, ok := ts[secret]; ok {
		return id, nil
	}
	return acl.Identity{}, acl.ErrNotFound
}

// The token login: with ACLs denying the anonymous token the page shows
// nothing; the token saved on the login page is kept in the browser and
// sent with the requests and the stream, and the services show.
func TestTokenLoginIsSentWithEveryRequest(t *testing.T) {
	manage := acl.Identity{AccessorID: "accessor-ui", SecretID: "secret-ui", Authorizer: acl.ManageAll()}
	resolver := tokens{
		"secret-ui": manage,
		"":          {AccessorID: acl.AnonymousTokenID, Authorizer: acl.DenyAll()},
	}
	a := agenttest.StartWithACL(t, resolver, func() acl.Identity { return manage }, "-dev", "-ui", "-node=herald-dev")
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.open("services")
	p.waitFor("without a token the list is empty", `document.querySelector('#count') && document.querySelector('#count').innerText === "0 of 0"`)

	p.click(`header a.token-link`, "Log in")
	p.waitFor("the login page", `document.querySelector('input[name=token]')`)
	p.typeIn(`input[name=token]`, "secret-ui")
	p.click(`form button[type=submit]`, "Save")
	p.waitFor("the token is saved", `localStorage.getItem("herald.token") === "secret-ui"`)
	p.open("services")
	p.waitFor("with the token the services show", `document.querySelector('[data-service="consul"]')`)
	p.waitFor("the header says so", `document.querySelector('header a.token-link').innerText.includes("Token")`)
	p.open("kv/")
	p.typeIn(`input[name=key]`, "written-with-token")
	p.click(`button[type=submit]`, "Create")
	p.waitFor("a write with the token succeeds", `location.pathname.endsWith("/kv/written-with-token")`)
}
