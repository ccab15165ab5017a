package userevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/watch"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// natsURL starts an embedded NATS server for the test.
func natsURL(t *testing.T) string {
	t.Helper()
	s, err := watch.StartServer(watch.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// start returns a started Buffer for node on the NATS server at url ("" for
// none).
func start(t *testing.T, url, node string, services map[string]event.Service) *Buffer {
	t.Helper()
	cfg := Config{Datacenter: "dc1", NodeName: node, Logger: quiet(),
		Services: func() map[string]event.Service { return services }}
	if url != "" {
		cfg.Conn = connect(t, url)
	}
	b := New(cfg)
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

func names(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Name
	}
	return out
}

// waitNames waits until b keeps exactly the named events, in order.
func waitNames(t *testing.T, b *Buffer, want ...string) []Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		events, changed := b.Events()
		if fmt.Sprint(names(events)) == fmt.Sprint(want) {
			return events
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%s keeps %q, want %q", b.cfg.NodeName, names(events), want)
		}
	}
}

func mustFire(t *testing.T, b *Buffer, name, payload string, f Filters) Event {
	t.Helper()
	e, err := b.Fire(name, []byte(payload), f)
	if err != nil {
		t.Fatalf("fire %s: %v", name, err)
	}
	return e
}

func TestRingKeepsTheLast256OldestFirst(t *testing.T) {
	b := start(t, "", "n1", nil)
	var want []string
	for i := range 300 {
		mustFire(t, b, fmt.Sprintf("e%d", i), "", Filters{})
		if i >= 300-DefaultSize {
			want = append(want, fmt.Sprintf("e%d", i))
		}
	}
	events, _ := b.Events()
	if fmt.Sprint(names(events)) != fmt.Sprint(want) {
		t.Fatalf("kept %d events %q..., want e44..e299", len(events), names(events)[:3])
	}
	for i := 1; i < len(events); i++ {
		if events[i].LTime != events[i-1].LTime+1 {
			t.Fatalf("LTime of %s is %d after %d", events[i].Name, events[i].LTime, events[i-1].LTime)
		}
	}
	if last := events[len(events)-1]; last.LTime != 300 || last.Version != 1 || b.LTime() != 300 {
		t.Fatalf("last event %+v, clock %d", last, b.LTime())
	}
}

func TestEventsReachEveryAgentOnceInOrder(t *testing.T) {
	url := natsURL(t)
	a := start(t, url, "a", nil)
	b := start(t, url, "b", nil)

	e1 := mustFire(t, a, "deploy", "v1", Filters{})
	e2 := mustFire(t, a, "deploy/web", "v2", Filters{})
	for _, buf := range []*Buffer{a, b} {
		got := waitNames(t, buf, "deploy", "deploy/web")
		if got[0].ID != e1.ID || got[1].ID != e2.ID || string(got[1].Payload) != "v2" || got[1].LTime != e2.LTime {
			t.Fatalf("%s: %+v, fired %+v %+v", buf.cfg.NodeName, got, e1, e2)
		}
	}
	// Lamport: b witnessed LTime 2, so its own next event comes after.
	e3 := mustFire(t, b, "restart", "", Filters{})
	if e3.LTime <= e2.LTime {
		t.Fatalf("b fired LTime %d after receiving %d", e3.LTime, e2.LTime)
	}
	waitNames(t, a, "deploy", "deploy/web", "restart")
	if a.LTime() <= e3.LTime {
		t.Fatalf("a's clock %d did not move past the received %d", a.LTime(), e3.LTime)
	}

	// A repeat of an event already kept is dropped, and so is junk on the
	// subject; a later event shows both were handled first.
	raw := connect(t, url)
	data, _ := json.Marshal(e1)
	for _, msg := range [][]byte{data, []byte("not json"), []byte(`{"ID":"x","Name":"bad-id"}`)} {
		if err := raw.Publish(Subject("dc1", "deploy"), msg); err != nil {
			t.Fatal(err)
		}
	}
	// Once the server has them, it hands them to subscribers before
	// anything published after.
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	mustFire(t, a, "last", "", Filters{})
	waitNames(t, b, "deploy", "deploy/web", "restart", "last")
	events, _ := a.Events()
	if fmt.Sprint(names(events)) != "[deploy deploy/web restart last]" {
		t.Fatalf("a keeps %q", names(events))
	}
}

func TestFilters(t *testing.T) {
	url := natsURL(t)
	web := map[string]event.Service{"web-1": {ID: "web-1", Service: "web", Tags: []string{"v2", "primary"}}}
	a := start(t, url, "web-node", web)
	b := start(t, url, "db-node", map[string]event.Service{"db": {ID: "db", Service: "postgres"}})
	c := start(t, url, "bare", nil)

	mustFire(t, c, "to-web-node", "", Filters{Node: "^web-"})
	mustFire(t, c, "to-web", "", Filters{Service: "^web$"})
	mustFire(t, c, "to-web-1-id", "", Filters{Service: "^web-1$"})
	mustFire(t, c, "to-primary", "", Filters{Service: "web", Tag: "^prim"})
	mustFire(t, c, "to-canary", "", Filters{Service: "web", Tag: "canary"})
	mustFire(t, c, "to-nodes", "", Filters{Node: "node"})
	mustFire(t, c, "to-all", "", Filters{})

	waitNames(t, a, "to-web-node", "to-web", "to-web-1-id", "to-primary", "to-nodes", "to-all")
	waitNames(t, b, "to-nodes", "to-all")
	waitNames(t, c, "to-all")
}

func TestFilteredEventsDoNotWake(t *testing.T) {
	b := start(t, "", "n1", nil)
	_, changed := b.Events()
	mustFire(t, b, "elsewhere", "", Filters{Node: "^other$"})
	select {
	case <-changed:
		t.Fatal("an event filtered out woke the watchers")
	default:
	}
	mustFire(t, b, "here", "", Filters{Node: "^n1$"})
	select {
	case <-changed:
	default:
		t.Fatal("an event kept did not wake the watchers")
	}
	waitNames(t, b, "here")
}

func TestValidate(t *testing.T) {
	fit := MaxSize - EncodingOverhead
	cases := []struct {
		name     string
		payload  int
		f        Filters
		tooLarge bool
		ok       bool
	}{
		{name: "", f: Filters{}},
		{name: "x", f: Filters{Tag: "t"}},
		{name: "x", f: Filters{Node: "("}},
		{name: "x", f: Filters{Service: "[a"}},
		{name: "x", f: Filters{Service: "s", Tag: "*"}},
		{name: "x", payload: fit - 1, ok: true},
		{name: "x", payload: fit, tooLarge: true},
		{name: "x", payload: fit - 2, f: Filters{Node: "n"}, ok: true},
		{name: "x", payload: fit - 2, f: Filters{Node: "n", Service: "s"}, tooLarge: true},
	}
	for _, c := range cases {
		err := Validate(c.name, make([]byte, c.payload), c.f)
		var ue *Error
		switch {
		case c.ok && err != nil:
			t.Errorf("%q %d %+v: %v", c.name, c.payload, c.f, err)
		case !c.ok && !errors.As(err, &ue):
			t.Errorf("%q %d %+v: error %v, want an *Error", c.name, c.payload, c.f, err)
		case !c.ok && ue.TooLarge != c.tooLarge:
			t.Errorf("%q %d %+v: TooLarge %v", c.name, c.payload, c.f, ue.TooLarge)
		}
	}
	b := start(t, "", "n1", nil)
	if _, err := b.Fire("x", nil, Filters{Node: "("}); err == nil {
		t.Fatal("Fire accepted a bad filter")
	}
	if events, _ := b.Events(); len(events) != 0 || b.LTime() != 0 {
		t.Fatalf("a refused event left %d events, clock %d", len(events), b.LTime())
	}
}

func TestIndexAndSubject(t *testing.T) {
	client := new(api.Client).Event()
	for range 20 {
		id := event.NewUUID()
		if !validUUID(id) || IDToIndex(id) != client.IDToIndex(id) {
			t.Fatalf("%s: index %d, the Go client's %d", id, IDToIndex(id), client.IDToIndex(id))
		}
	}
	if IDToIndex("nope") != 0 || ListIndex(nil) != 1 {
		t.Fatal("index of nothing")
	}
	id := "b54fe110-7af5-cafc-d1fb-afc8ba432b1c"
	if got := ListIndex([]Event{{ID: event.NewUUID()}, {ID: id}}); got != client.IDToIndex(id) {
		t.Fatalf("ListIndex %d", got)
	}
	for name, want := range map[string]string{
		"deploy":     "herald.dc1.event.deploy",
		"app.v2/go!": "herald.dc1.event.app%2Ev2.go!",
		"a b":        "herald.dc1.event.a%20b",
	} {
		if got := Subject("dc1", name); got != want {
			t.Errorf("Subject(%q) = %q, want %q", name, got, want)
		}
	}
	if SubjectAll("dc1") != "herald.dc1.event.>" {
		t.Errorf("SubjectAll = %q", SubjectAll("dc1"))
	}
}
