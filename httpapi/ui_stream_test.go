package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// sse is one server-sent event as the test reads it.
type sse struct {
	name, id, data string
}

// rowsMsg is the data of an `event: rows` message.
type rowsMsg struct {
	Index  uint64
	Reset  bool
	Upsert []map[string]any
	Delete []string
}

// stream is an open /v1/internal/ui/stream connection read by plain
// net/http, as a browser's EventSource reads it.
type stream struct {
	t      *testing.T
	events chan sse
	resp   *http.Response
	cancel context.CancelFunc
}

// openStream opens the stream of topic; header, when not empty, is sent
// as is (Last-Event-ID, X-Consul-Token). It fails the test unless the
// answer is a stream.
func openStream(t *testing.T, addr, query string, header map[string]string) *stream {
	t.Helper()
	resp, cancel := streamRequest(t, addr, query, header)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream %s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: t, events: make(chan sse, 1000), resp: resp, cancel: cancel}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					s.events <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func streamRequest(t *testing.T, addr, query string, header map[string]string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/internal/ui/stream?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, cancel
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next is the next rows message, within a deadline.
func (s *stream) next() (rowsMsg, sse) {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("the stream ended")
		}
		var m rowsMsg
		if ev.name == "rows" {
			if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
				s.t.Fatalf("message %q: %v", ev.data, err)
			}
			if fmt.Sprint(m.Index) != ev.id {
				s.t.Fatalf("message id %s, Index %d", ev.id, m.Index)
			}
		}
		return m, ev
	case <-time.After(30 * time.Second):
		s.t.Fatal("no message within 30s")
	}
	panic("unreachable")
}

// until reads messages until one satisfies ok, and returns it.
func (s *stream) until(what string, ok func(rowsMsg) bool) rowsMsg {
	s.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				s.t.Fatalf("the stream ended before %s", what)
			}
			var m rowsMsg
			if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
				s.t.Fatalf("message %q: %v", ev.data, err)
			}
			if ok(m) {
				return m
			}
		case <-deadline:
			s.t.Fatalf("no message with %s within 30s", what)
		}
	}
}

func hasRow(m rowsMsg, field, value string) bool {
	for _, row := range m.Upsert {
		if fmt.Sprint(row[field]) == value {
			return true
		}
	}
	return false
}

func hasDelete(m rowsMsg, key string) bool {
	for _, k := range m.Delete {
		if k == key {
			return true
		}
	}
	return false
}

func TestUIStreamServicesTopic(t *testing.T) {
	c, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	s := openStream(t, addr, "topic=services", nil)
	first, _ := s.next()
	if !first.Reset || hasRow(first, "Name", "web") {
		t.Fatalf("first message: %+v, want a Reset without web", first)
	}
	register(t, c, "n1", "web1", "web", []string{"v1"})
	m := s.until("web upserted", func(m rowsMsg) bool { return hasRow(m, "Name", "web") })
	if m.Reset || len(m.Delete) != 0 {
		t.Fatalf("after a registration: %+v, want web upserted and nothing else said", m)
	}
	if _, err := c.Catalog().Deregister(&api.CatalogDeregistration{Node: "n1", ServiceID: "web1"}, nil); err != nil {
		t.Fatal(err)
	}
	s.until("web deleted", func(m rowsMsg) bool { return hasDelete(m, "web") })
}

func TestUIStreamServiceAndNodeTopics(t *testing.T) {
	c, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	register(t, c, "n1", "web1", "web", nil)
	svc := openStream(t, addr, "topic="+url.QueryEscape("service/web"), nil)
	nodes := openStream(t, addr, "topic=nodes", nil)
	node := openStream(t, addr, "topic="+url.QueryEscape("node/n1"), nil)
	if m, _ := svc.next(); !m.Reset || len(m.Upsert) != 1 {
		t.Fatalf("service/web first: %+v", m)
	}
	if m, _ := nodes.next(); !m.Reset || !hasRow(m, "Node", "n1") {
		t.Fatalf("nodes first: %+v", m)
	}
	if m, _ := node.next(); !m.Reset || len(m.Upsert) != 1 {
		t.Fatalf("node/n1 first: %+v", m)
	}

	// A check failing on the instance reaches the three pages.
	register(t, c, "n1", "web1", "web", nil, &api.HealthCheck{CheckID: "http", Name: "http", Status: "critical", ServiceID: "web1"})
	critical := func(m rowsMsg) bool { return strings.Contains(fmt.Sprint(m.Upsert), "critical") }
	svc.until("the instance's check critical", critical)
	nodes.until("n1's check critical", critical)
	node.until("n1's check critical", critical)

	// A session on n1 taking a lock shows on the node's page with its key.
	register(t, c, "n1", "web1", "web", nil, &api.HealthCheck{CheckID: "serfHealth", Name: "serf", Status: "passing"})
	sid, _, err := c.Session().Create(&api.SessionEntry{Node: "n1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := c.KV().Acquire(&api.KVPair{Key: "locks/leader", Session: sid}, nil); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	node.until("the session's lock", func(m rowsMsg) bool {
		return strings.Contains(fmt.Sprint(m.Upsert), sid) && strings.Contains(fmt.Sprint(m.Upsert), "locks/leader")
	})

	if _, err := c.Catalog().Deregister(&api.CatalogDeregistration{Node: "n1"}, nil); err != nil {
		t.Fatal(err)
	}
	svc.until("the instance deleted", func(m rowsMsg) bool { return hasDelete(m, "n1/web1") })
	nodes.until("n1 deleted", func(m rowsMsg) bool { return hasDelete(m, "n1") })
	node.until("n1 deleted", func(m rowsMsg) bool { return hasDelete(m, "n1") })
}

func TestUIStreamKVTopics(t *testing.T) {
	c, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	mustPut(t, c.KV(), "app/a", "1")
	folder := openStream(t, addr, "topic="+url.QueryEscape("kv/app/"), nil)
	key := openStream(t, addr, "topic="+url.QueryEscape("kvkey/app/a"), nil)
	if m, _ := folder.next(); !m.Reset || len(m.Upsert) != 1 || !hasRow(m, "Key", "app/a") {
		t.Fatalf("kv/app/ first: %+v", m)
	}
	if m, _ := key.next(); !m.Reset || len(m.Upsert) != 1 || !hasRow(m, "Value", "MQ==") {
		t.Fatalf("kvkey/app/a first: %+v", m)
	}

	mustPut(t, c.KV(), "app/sub/b", "2")
	m := folder.until("the folder app/sub/", func(m rowsMsg) bool { return hasRow(m, "Key", "app/sub/") })
	if m.Reset || len(m.Upsert) != 1 || m.Upsert[0]["Folder"] != true {
		t.Fatalf("a key in a new folder: %+v", m)
	}
	mustPut(t, c.KV(), "app/a", "2")
	key.until("the new value", func(m rowsMsg) bool { return hasRow(m, "Value", "Mg==") })
	if _, err := c.KV().Delete("app/a", nil); err != nil {
		t.Fatal(err)
	}
	key.until("the key deleted", func(m rowsMsg) bool { return hasDelete(m, "app/a") })
	folder.until("the key deleted", func(m rowsMsg) bool { return hasDelete(m, "app/a") })
}

func TestUIStreamResume(t *testing.T) {
	c, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	mustPut(t, c.KV(), "r/a", "1")
	s := openStream(t, addr, "topic="+url.QueryEscape("kv/r/"), nil)
	_, first := s.next()
	s.close()

	// Reconnecting at the current index: no message until a change, and
	// then only the change.
	s = openStream(t, addr, "topic="+url.QueryEscape("kv/r/"), map[string]string{"Last-Event-ID": first.id})
	mustPut(t, c.KV(), "r/b", "1")
	m, _ := s.next()
	if m.Reset || len(m.Upsert) != 1 || !hasRow(m, "Key", "r/b") {
		t.Fatalf("after a current resume and one write: %+v, want r/b alone", m)
	}
	s.close()

	// Reconnecting at an index that is no longer current starts over.
	s = openStream(t, addr, "topic="+url.QueryEscape("kv/r/"), map[string]string{"Last-Event-ID": first.id})
	m, _ = s.next()
	if !m.Reset || len(m.Upsert) != 2 {
		t.Fatalf("after a stale resume: %+v, want a Reset with r/a and r/b", m)
	}
}

func TestUIStreamCoalescesBursts(t *testing.T) {
	c, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	s := openStream(t, addr, "topic="+url.QueryEscape("kv/burst/"), nil)
	s.next()
	const writes = 40
	ops := api.TxnOps{}
	for i := range writes {
		// Each transaction is one index: 40 changes in a few.
		ops = append(ops[:0], &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: fmt.Sprintf("burst/%02d", i), Value: []byte("x")}})
		if ok, _, _, err := c.Txn().Txn(ops, nil); err != nil || !ok {
			t.Fatalf("write %d: %v %v", i, ok, err)
		}
	}
	messages, rows := 0, 0
	for rows < writes {
		m, _ := s.next()
		messages++
		rows += len(m.Upsert)
	}
	if rows != writes || messages >= writes {
		t.Fatalf("%d writes arrived as %d rows in %d messages, want each row once and fewer messages than writes", writes, rows, messages)
	}
}

func TestUIStreamRefusals(t *testing.T) {
	_, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	resp, cancel := streamRequest(t, addr, "topic=bogus", nil)
	defer cancel()
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an unknown topic: %d, want 400", resp.StatusCode)
	}
}

func TestUIStreamIsFilteredByACL(t *testing.T) {
	a, _, _, root := aclServer(t, "-hcl", `acl { default_policy = "deny" }`)
	needsEnforcement(t, a.HTTPAddr())
	needsRulesParser(t)
	register(t, root, "n1", "web1", "web", nil)
	register(t, root, "n1", "db1", "db", nil)
	mustPut(t, root.KV(), "secret/x", "1")
	policy, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "web-reader",
		Rules: `service "web" { policy = "read" } node_prefix "" { policy = "read" } key_prefix "public/" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := openStream(t, a.HTTPAddr(), "topic=services&token="+tok.SecretID, nil)
	if m, _ := s.next(); !m.Reset || len(m.Upsert) != 1 || !hasRow(m, "Name", "web") {
		t.Fatalf("a web reader's services: %+v", m)
	}
	register(t, root, "n1", "db2", "db", nil)
	register(t, root, "n1", "web2", "web", nil)
	if m := s.until("web's second instance", func(m rowsMsg) bool { return len(m.Upsert) > 0 }); hasRow(m, "Name", "db") {
		t.Fatalf("a web reader hears of db: %+v", m)
	}

	resp, cancel := streamRequest(t, a.HTTPAddr(), "topic="+url.QueryEscape("kvkey/secret/x"), map[string]string{"X-Consul-Token": tok.SecretID})
	defer cancel()
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a key the token may not read: %d, want 403", resp.StatusCode)
	}
	folder := openStream(t, a.HTTPAddr(), "topic=kv/", map[string]string{"X-Consul-Token": tok.SecretID})
	if m, _ := folder.next(); !m.Reset || len(m.Upsert) != 0 {
		t.Fatalf("the root folder for a reader of public/: %+v", m)
	}
}

// A client agent's streams are fed by its own projections and by the
// servers' event stream through its NATS connection; they end when the
// agent stops.
func TestUIStreamOnAClientAgent(t *testing.T) {
	srv := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-node=srv", "-data-dir="+t.TempDir(),
		fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)))
	members, err := agenttest.Client(t, srv.HTTPAddr()).Agent().Members(false)
	if err != nil || len(members) == 0 {
		t.Fatalf("members: %v %v", members, err)
	}
	cli := agenttest.Start(t, "-node=cli", "-data-dir="+t.TempDir(), fmt.Sprintf("-retry-join=%s:%d", members[0].Addr, members[0].Port), "-ui")
	c := agenttest.Client(t, cli.HTTPAddr())
	page, err := http.Get("http://" + cli.HTTPAddr() + "/ui/dc1/services")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK || page.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("the UI on a client agent: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
	services := openStream(t, cli.HTTPAddr(), "topic=services", nil)
	if m, _ := services.next(); !m.Reset {
		t.Fatalf("first message: %+v", m)
	}
	// The tail starts once the client agent reaches the servers' NATS.
	var events *stream
	poll.Eventually(t, 30*time.Second, "the client agent serves the event tail", func() (bool, string) {
		resp, cancel := streamRequest(t, cli.HTTPAddr(), "topic=events", nil)
		resp.Body.Close()
		cancel()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	events = openStream(t, cli.HTTPAddr(), "topic=events&subject="+url.QueryEscape("herald.dc1.kv.>"), nil)
	register(t, c, "n9", "api1", "api", nil)
	services.until("api upserted", func(m rowsMsg) bool { return hasRow(m, "Name", "api") })
	mustPut(t, c.KV(), "from/client", "1")
	if ev := events.nextEvent(); ev.Key != "from/client" {
		t.Fatalf("the client agent's tail: %+v", ev)
	}

	cli.Shutdown()
	for _, s := range []*stream{services, events} {
		select {
		case _, open := <-s.events:
			for open {
				_, open = <-s.events
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a stream outlived its agent")
		}
	}
}
