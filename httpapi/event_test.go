package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// twoAgents starts alpha and beta, beta on alpha's NATS, and returns a
// client for each.
func twoAgents(t *testing.T) (alpha, beta *api.Client, a *agent.Agent) {
	t.Helper()
	a = agenttest.Start(t, "-dev", "-node=alpha")
	b := agenttest.Start(t, "-dev", "-node=beta", "-nats-url="+a.NATSURL())
	return agenttest.Client(t, a.HTTPAddr()), agenttest.Client(t, b.HTTPAddr()), a
}

func eventIDs(events []*api.UserEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// waitEvents follows the agent's event list with blocking queries until it
// holds exactly the events with the given IDs, in order.
func waitEvents(t *testing.T, c *api.Client, name string, want ...string) ([]*api.UserEvent, *api.QueryMeta) {
	t.Helper()
	var (
		index  uint64
		events []*api.UserEvent
		meta   *api.QueryMeta
	)
	poll.Eventually(t, 15*time.Second, fmt.Sprintf("events %q", want), func() (bool, string) {
		var err error
		events, meta, err = c.Event().List(name, &api.QueryOptions{WaitIndex: index, WaitTime: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		index = meta.LastIndex
		return fmt.Sprint(eventIDs(events)) == fmt.Sprint(want), fmt.Sprintf("events %q", eventIDs(events))
	})
	return events, meta
}

func fire(t *testing.T, c *api.Client, e *api.UserEvent) string {
	t.Helper()
	id, _, err := c.Event().Fire(e, nil)
	if err != nil {
		t.Fatalf("fire %s: %v", e.Name, err)
	}
	return id
}

func TestUserEventsAcrossAgents(t *testing.T) {
	alpha, beta, _ := twoAgents(t)

	id1 := fire(t, alpha, &api.UserEvent{Name: "deploy", Payload: []byte("v1")})
	id2 := fire(t, alpha, &api.UserEvent{Name: "restart"})
	id3 := fire(t, alpha, &api.UserEvent{Name: "deploy", Payload: []byte("v2")})
	for _, c := range []*api.Client{alpha, beta} {
		events, meta := waitEvents(t, c, "", id1, id2, id3)
		if string(events[0].Payload) != "v1" || events[1].Payload != nil || string(events[2].Payload) != "v2" ||
			events[0].Version != 1 || events[0].LTime == 0 || events[1].LTime <= events[0].LTime || events[2].LTime <= events[1].LTime {
			t.Fatalf("events: %+v %+v %+v", events[0], events[1], events[2])
		}
		if meta.LastIndex != c.Event().IDToIndex(id3) {
			t.Fatalf("X-Consul-Index %d, want the hash of the last ID %d", meta.LastIndex, c.Event().IDToIndex(id3))
		}
		deploys, meta := waitEvents(t, c, "deploy", id1, id3)
		if meta.LastIndex != c.Event().IDToIndex(id3) || string(deploys[1].Payload) != "v2" {
			t.Fatalf("?name=deploy: index %d, %+v", meta.LastIndex, deploys[1])
		}
		if none, meta, err := c.Event().List("nothing", nil); err != nil || len(none) != 0 || meta.LastIndex != 1 {
			t.Fatalf("?name=nothing: %v %d %v", none, meta.LastIndex, err)
		}
	}

	// Node filter: beta's event for beta only reaches alpha too, which
	// must not keep it. Events from one agent arrive in order, so once
	// alpha has the next one it has judged the filtered one.
	only := fire(t, beta, &api.UserEvent{Name: "deploy", NodeFilter: "^beta$", Payload: []byte("beta only")})
	id5 := fire(t, beta, &api.UserEvent{Name: "deploy", NodeFilter: "a$", Payload: []byte("both")})
	waitEvents(t, beta, "deploy", id1, id3, only, id5)
	waitEvents(t, alpha, "deploy", id1, id3, id5)

	// Beta fired after receiving alpha's events: its Lamport clock is past
	// theirs.
	events, _, err := alpha.Event().List("deploy", nil)
	if err != nil || events[2].LTime <= events[1].LTime {
		t.Fatalf("LTime of beta's event %d after alpha's %d (%v)", events[2].LTime, events[1].LTime, err)
	}
}

func TestUserEventListBlocks(t *testing.T) {
	alpha, beta, _ := twoAgents(t)
	first := fire(t, beta, &api.UserEvent{Name: "deploy"})
	_, meta := waitEvents(t, alpha, "deploy", first)
	index := meta.LastIndex

	type answer struct {
		events []*api.UserEvent
		meta   *api.QueryMeta
		err    error
	}
	blocked := make(chan answer, 1)
	go func() {
		events, meta, err := alpha.Event().List("deploy", &api.QueryOptions{WaitIndex: index, WaitTime: time.Minute})
		blocked <- answer{events, meta, err}
	}()

	// Neither an event of another name nor one filtered out on alpha
	// changes alpha's list of deploys.
	fire(t, beta, &api.UserEvent{Name: "deploy", NodeFilter: "^beta$"})
	other := fire(t, beta, &api.UserEvent{Name: "other"})
	waitEvents(t, alpha, "other", other)
	start := time.Now()
	events, meta, err := alpha.Event().List("deploy", &api.QueryOptions{WaitIndex: index, WaitTime: 300 * time.Millisecond})
	if err != nil || meta.LastIndex != index || fmt.Sprint(eventIDs(events)) != fmt.Sprint([]string{first}) {
		t.Fatalf("short wait: %q index %d (want %d), %v", eventIDs(events), meta.LastIndex, index, err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("a blocking list with nothing new answered after %v, before its wait", waited)
	}
	select {
	case a := <-blocked:
		t.Fatalf("the blocking list answered without a new deploy: %q %v", eventIDs(a.events), a.err)
	default:
	}

	second := fire(t, beta, &api.UserEvent{Name: "deploy", Payload: []byte("go")})
	select {
	case a := <-blocked:
		if a.err != nil || fmt.Sprint(eventIDs(a.events)) != fmt.Sprint([]string{first, second}) ||
			a.meta.LastIndex != alpha.Event().IDToIndex(second) {
			t.Fatalf("woken list: %q index %d, %v", eventIDs(a.events), a.meta.LastIndex, a.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking list did not wake on a new event")
	}
}

func TestUserEventHTTP(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=solo")
	base := "http://" + a.HTTPAddr()
	call := func(method, path, body string) (int, string, http.Header) {
		t.Helper()
		r := do(t, method, base+path, body)
		return r.code, r.body, r.header
	}

	// The events go out on NATS for anyone to watch.
	nc, err := nats.Connect(a.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("herald.dc1.event.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	code, body, _ := call("PUT", "/v1/event/fire/web.deploy?service=web&tag=v2", "hello")
	var fired map[string]any
	if err := json.Unmarshal([]byte(body), &fired); code != 200 || err != nil {
		t.Fatalf("fire: %d %q %v", code, body, err)
	}
	if fired["Name"] != "web.deploy" || fired["Payload"] != "aGVsbG8=" || fired["ServiceFilter"] != "web" ||
		fired["TagFilter"] != "v2" || fired["NodeFilter"] != "" || fired["Version"] != 1.0 || fired["LTime"] != 1.0 ||
		len(fired["ID"].(string)) != 36 {
		t.Fatalf("fired: %s", body)
	}
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var onWire map[string]any
	if msg.Subject != "herald.dc1.event.web%2Edeploy" || json.Unmarshal(msg.Data, &onWire) != nil || onWire["ID"] != fired["ID"] {
		t.Fatalf("on NATS: %s %s", msg.Subject, msg.Data)
	}
	// The agent has no service web: it does not keep its own event.
	code, body, hdr := call("GET", "/v1/event/list", "")
	if code != 200 || strings.TrimSpace(body) != "[]" || hdr.Get("X-Consul-Index") != "1" {
		t.Fatalf("list: %d %q index %q", code, body, hdr.Get("X-Consul-Index"))
	}

	code, body, _ = call("PUT", "/v1/event/fire/empty", "")
	if code != 200 || !strings.Contains(body, `"Payload":null`) {
		t.Fatalf("empty payload: %d %s", code, body)
	}
	code, body, _ = call("GET", "/v1/event/list?name=empty", "")
	if code != 200 || !strings.Contains(body, `"Name":"empty"`) {
		t.Fatalf("list: %d %s", code, body)
	}

	for _, c := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"PUT", "/v1/event/fire/", "", 400, "Missing name"},
		{"PUT", "/v1/event/fire/x?node=(", "", 400, "Invalid node filter"},
		{"PUT", "/v1/event/fire/x?service=[", "", 400, "Invalid service filter"},
		{"PUT", "/v1/event/fire/x?service=s&tag=*", "", 400, "Invalid tag filter"},
		{"PUT", "/v1/event/fire/x?tag=v1", "", 400, "Cannot provide tag filter without service filter"},
		{"PUT", "/v1/event/fire/x", strings.Repeat("p", 400), 500, "user event too large"},
		{"PUT", "/v1/event/fire/x?dc=elsewhere", "", 500, "No path to datacenter"},
		{"GET", "/v1/event/fire/x", "", 405, "method GET not allowed"},
		{"POST", "/v1/event/list", "", 405, "method POST not allowed"},
		{"GET", "/v1/event/list?index=abc", "", 400, "Invalid index"},
		{"GET", "/v1/event/list?index=1&wait=forever", "", 400, "Invalid wait time"},
	} {
		code, body, _ := call(c.method, c.path, c.body)
		if code != c.code || !strings.HasPrefix(body, c.msg) {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, code, body, c.code, c.msg)
		}
	}
	// None of the refused events was kept or sent.
	code, body, _ = call("GET", "/v1/event/list", "")
	if code != 200 || strings.Count(body, `"ID"`) != 1 {
		t.Fatalf("after refusals: %s", body)
	}
	if _, _, err := agenttest.Client(t, a.HTTPAddr()).Event().Fire(&api.UserEvent{Name: "big", Payload: make([]byte, 1000)}, nil); err == nil ||
		!strings.Contains(err.Error(), "500") {
		t.Fatalf("the official client fired a 1000-byte payload: %v", err)
	}
}
