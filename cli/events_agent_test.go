package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/watch"
)

// startEvents runs `events args...` until the test cancels it.
func startEvents(env map[string]string, args ...string) (*bgRun, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &bgRun{args: args, stdout: &bgBuffer{}, stderr: &bgBuffer{}, code: make(chan int, 1)}
	cio := normalizeIO("herald", IO{Stdout: r.stdout, Stderr: r.stderr, Env: func(k string) string { return env[k] }})
	go func() { r.code <- new(eventsCmd).run(ctx, args, cio) }()
	return r, cancel
}

// pollEvents waits until the command printed n events and returns them.
func pollEvents(t *testing.T, r *bgRun, n int) []event.Event {
	t.Helper()
	var out string
	poll.Eventually(t, lockWait, fmt.Sprintf("%d events", n), func() (bool, string) {
		out = r.stdout.String()
		if strings.Count(out, "\n") >= n {
			return true, ""
		}
		select {
		case code := <-r.code:
			t.Fatalf("events exited with %d before printing %d events; stdout %q stderr %q", code, n, out, r.stderr)
		default:
		}
		return false, fmt.Sprintf("stdout %q stderr %q", out, r.stderr)
	})
	var evs []event.Event
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var ev event.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func putKey(t *testing.T, c *api.Client, key, value string) uint64 {
	t.Helper()
	if _, err := c.KV().Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		t.Fatal(err)
	}
	pair, _, err := c.KV().Get(key, nil)
	if err != nil || pair == nil {
		t.Fatalf("get %s: %+v %v", key, pair, err)
	}
	return pair.ModifyIndex
}

func eventKeys(evs []event.Event) string {
	var keys []string
	for _, e := range evs {
		keys = append(keys, string(e.Type)+":"+e.Key)
	}
	return strings.Join(keys, " ")
}

func TestEventsFromIndex(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	env := map[string]string{"HERALD_NATS_URL": a.NATSURL()}
	putKey(t, c, "e/1", "one")
	i2 := putKey(t, c, "e/2", "two")
	putKey(t, c, "e/3", "three")

	r, cancel := startEvents(env, "-from-index="+strconv.FormatUint(i2, 10))
	defer cancel()
	evs := pollEvents(t, r, 2)
	if got := eventKeys(evs); got != "kv.updated:e/2 kv.updated:e/3" {
		t.Fatalf("events %s", got)
	}
	if evs[0].Index != i2 || evs[0].KV == nil || string(evs[0].KV.Value) != "two" {
		t.Errorf("first event %+v", evs[0])
	}
	// It keeps following.
	if _, err := c.KV().Delete("e/1", nil); err != nil {
		t.Fatal(err)
	}
	evs = pollEvents(t, r, 3)
	if got := eventKeys(evs); got != "kv.updated:e/2 kv.updated:e/3 kv.deleted:e/1" {
		t.Fatalf("events %s", got)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Index <= evs[i-1].Index || evs[i].Shard != "kv" {
			t.Errorf("event %d: %+v after %+v", i, evs[i], evs[i-1])
		}
	}
	cancel()
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, r.stderr)
	}
	if got := r.stderr.String(); got != "Following HERALD_dc1_kv from index "+strconv.FormatUint(i2, 10)+"\n" {
		t.Errorf("stderr %q", got)
	}
}

// Without -from-index only new events are printed.
func TestEventsFromNow(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	last := putKey(t, c, "old/1", "x")
	// The old event must be in the stream before the command looks for
	// the newest one, or it would count as new.
	waitStreamIndex(t, a.NATSURL(), "kv", last)

	r, cancel := startEvents(map[string]string{}, "-nats-url="+a.NATSURL())
	defer cancel()
	want := "Following HERALD_dc1_kv from index " + strconv.FormatUint(last+1, 10) + "\n"
	poll.Eventually(t, lockWait, fmt.Sprintf("stderr %q", want), func() (bool, string) {
		got := r.stderr.String()
		return got == want, fmt.Sprintf("stderr %q", got)
	})
	putKey(t, c, "new/1", "y")
	if got := eventKeys(pollEvents(t, r, 1)); got != "kv.updated:new/1" {
		t.Fatalf("events %s", got)
	}
}

// waitStreamIndex waits until the shard's stream holds an event of index.
func waitStreamIndex(t *testing.T, url, shard string, index uint64) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	poll.Eventually(t, lockWait, fmt.Sprintf("the %s stream at index %d", shard, index), func() (bool, string) {
		s, err := js.Stream(ctx, watch.StreamName("dc1", shard))
		if err != nil {
			return false, err.Error()
		}
		m, err := s.GetLastMsgForSubject(ctx, watch.StreamSubjects("dc1", shard))
		if err != nil {
			return false, err.Error()
		}
		idx, _ := strconv.ParseUint(m.Header.Get(watch.HeaderIndex), 10, 64)
		return idx >= index, fmt.Sprintf("index %d", idx)
	})
}

func TestEventsSubjectFilter(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	env := map[string]string{"HERALD_NATS_URL": a.NATSURL()}
	putKey(t, c, "app/a", "1")
	putKey(t, c, "other/b", "2")
	putKey(t, c, "app/sub/c", "3")
	putKey(t, c, "app/d", "4")

	r, cancel := startEvents(env, "-from-index=0", "-subject=herald.dc1.kv.app.*")
	defer cancel()
	if got := eventKeys(pollEvents(t, r, 2)); got != "kv.updated:app/a kv.updated:app/d" {
		t.Fatalf("events %s", got)
	}
	// The shard comes from the subject: catalog events of web only.
	for _, reg := range []*api.CatalogRegistration{
		{Node: "ext1", Address: "10.0.0.1", Service: &api.AgentService{ID: "web1", Service: "web"}},
		{Node: "ext1", Address: "10.0.0.1", Service: &api.AgentService{ID: "db1", Service: "db"}},
		{Node: "ext2", Address: "10.0.0.2", Service: &api.AgentService{ID: "web2", Service: "web"}},
	} {
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatal(err)
		}
	}
	r2, cancel2 := startEvents(env, "-from-index=0", "-subject=herald.dc1.catalog.service.web.>")
	defer cancel2()
	evs := pollEvents(t, r2, 2)
	if len(evs) != 2 || evs[0].Service == nil || evs[0].Service.ID != "web1" || evs[1].Service == nil || evs[1].Service.ID != "web2" {
		t.Fatalf("events %s", r2.stdout)
	}
	cancel()
	cancel2()
	r.wait(t)
	r2.wait(t)
	if strings.Contains(r.stdout.String(), "other/b") || strings.Contains(r.stdout.String(), "app/sub/c") {
		t.Errorf("unmatched events printed: %s", r.stdout)
	}
	if strings.Contains(r2.stdout.String(), `"db1"`) {
		t.Errorf("unmatched events printed: %s", r2.stdout)
	}
}

// A gap (events deleted from the stream) ends the command with 2 and says
// where to carry on.
func TestEventsGap(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())
	i1 := putKey(t, c, "g/1", "1")
	i2 := putKey(t, c, "g/2", "2")
	i3 := putKey(t, c, "g/3", "3")
	waitStreamIndex(t, a.NATSURL(), "kv", i3)

	nc, err := nats.Connect(a.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	s, err := js.Stream(ctx, watch.StreamName("dc1", "kv"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err == nil && m.Header.Get(watch.HeaderIndex) == strconv.FormatUint(i2, 10) {
			if err := s.DeleteMsg(ctx, seq); err != nil {
				t.Fatal(err)
			}
			deleted = true
		}
	}
	if !deleted {
		t.Fatalf("no message of index %d in the stream", i2)
	}

	r, cancel := startEvents(map[string]string{"HERALD_NATS_URL": a.NATSURL()}, "-from-index="+strconv.FormatUint(i1, 10))
	defer cancel()
	if code := r.wait(t); code != eventsGapExit {
		t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, eventsGapExit, r.stdout, r.stderr)
	}
	if got := eventKeys(pollEvents(t, r, 1)); got != "kv.updated:g/1" {
		t.Errorf("printed %s before the gap", got)
	}
	want := "Error! Gap in the kv event stream: events after index " + strconv.FormatUint(i1, 10)
	carry := "run again with -from-index=" + strconv.FormatUint(i3, 10)
	if got := r.stderr.String(); !strings.Contains(got, want) || !strings.Contains(got, carry) {
		t.Errorf("stderr %q, want %q and %q", got, want, carry)
	}
}

func TestEventsUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "-shard=acl"}, "Error! -shard must be kv, catalog or system, not \"acl\"\n"},
		{[]string{"events", "extra"}, "Error! Unexpected argument \"extra\"\n"},
		{[]string{"events", "-subject=herald.dc1.kv.a>"}, "Error! -subject \"herald.dc1.kv.a>\": a wildcard must be a whole token\n"},
		{[]string{"events", "-subject=herald.>.kv"}, "Error! -subject \"herald.>.kv\": > may only be the last token\n"},
		{[]string{"events", "-subject=nats.dc1.kv.>"}, "Error! -subject \"nats.dc1.kv.>\" does not start with herald.\n"},
		{[]string{"events", "-shard=kv", "-subject=herald.dc1.catalog.>"}, "Error! -subject \"herald.dc1.catalog.>\" is not in -shard kv\n"},
	} {
		if r := runCLI(t, tt.args...); r.code != 1 || r.stderr != tt.want {
			t.Errorf("%q: %+v, want stderr %q", tt.args, r, tt.want)
		}
	}
	r := runCLI(t, "events", "-nats-url=nats://127.0.0.1:1")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error connecting to NATS at nats://127.0.0.1:1: ") {
		t.Errorf("unreachable NATS: %+v", r)
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, tt := range []struct {
		pattern, subject string
		want             bool
	}{
		{"herald.dc1.kv.>", "herald.dc1.kv.a", true},
		{"herald.dc1.kv.>", "herald.dc1.kv.a.b", true},
		{"herald.dc1.kv.>", "herald.dc1.kv", false},
		{"herald.dc1.kv.*", "herald.dc1.kv.a", true},
		{"herald.dc1.kv.*", "herald.dc1.kv.a.b", false},
		{"herald.*.kv.a", "herald.dc2.kv.a", true},
		{"herald.dc1.kv.a", "herald.dc1.kv.a", true},
		{"herald.dc1.kv.a", "herald.dc1.kv.b", false},
		{"herald.dc1.kv.a.b", "herald.dc1.kv.a", false},
	} {
		if got := subjectMatches(strings.Split(tt.pattern, "."), strings.Split(tt.subject, ".")); got != tt.want {
			t.Errorf("%s ~ %s = %v, want %v", tt.pattern, tt.subject, got, tt.want)
		}
	}
}

// Given no NATS URL, events asks the agent at -http-addr (or
// $HERALD_HTTP_ADDR, $CONSUL_HTTP_ADDR) where its event stream is: an
// agent whose default NATS port was taken listens on another.
func TestEventsAsksTheAgentForItsStream(t *testing.T) {
	a := agenttest.Start(t, "-dev") // NATS on a port the system picks
	c := agenttest.Client(t, a.HTTPAddr())
	i1 := putKey(t, c, "found/1", "x")

	for name, how := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"-http-addr":       {map[string]string{}, []string{"-http-addr=" + a.HTTPAddr()}},
		"CONSUL_HTTP_ADDR": {map[string]string{"CONSUL_HTTP_ADDR": a.HTTPAddr()}, nil},
	} {
		r, cancel := startEvents(how.env, append(how.args, "-from-index="+strconv.FormatUint(i1, 10))...)
		if got := eventKeys(pollEvents(t, r, 1)); got != "kv.updated:found/1" {
			t.Errorf("%s: events %s", name, got)
		}
		cancel()
		if code := r.wait(t); code != 0 {
			t.Errorf("%s: exit %d, stderr %q", name, code, r.stderr)
		}
	}
}
