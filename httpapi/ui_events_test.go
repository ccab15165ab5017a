package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// tailEvent is what the test reads of an `event: event` message.
type tailEvent struct {
	Subject string
	Type    string
	Key     string
	Index   uint64
	id      string
}

// nextEvent is the tail's next event message.
func (s *stream) nextEvent() tailEvent {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("the stream ended")
		}
		if ev.name != "event" {
			s.t.Fatalf("a %q message: %s", ev.name, ev.data)
		}
		var te tailEvent
		if err := json.Unmarshal([]byte(ev.data), &te); err != nil {
			s.t.Fatalf("event %q: %v", ev.data, err)
		}
		te.id = ev.id
		return te
	case <-time.After(30 * time.Second):
		s.t.Fatal("no event within 30s")
	}
	panic("unreachable")
}

func txnSet(t *testing.T, c *api.Client, keys ...string) {
	t.Helper()
	ops := api.TxnOps{}
	for _, k := range keys {
		ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: k, Value: []byte("v")}})
	}
	if ok, _, _, err := c.Txn().Txn(ops, nil); err != nil || !ok {
		t.Fatalf("txn %v: %v %v", keys, ok, err)
	}
}

func TestUIStreamEventsTailResumesExactly(t *testing.T) {
	c, base := newClient(t)
	addr := strings.TrimPrefix(base, "http://")
	mustPut(t, c.KV(), "before", "1") // before the tail: not in it
	s := openStream(t, addr, "topic=events&subject="+"herald.dc1.kv.>", nil)
	mustPut(t, c.KV(), "tail/a", "1")
	first := s.nextEvent()
	if first.Key != "tail/a" || first.Subject != "herald.dc1.kv.tail.a" || first.Type != "kv.updated" {
		t.Fatalf("first event: %+v", first)
	}
	txnSet(t, c, "tail/b", "tail/c")
	b := s.nextEvent()
	if b.Key != "tail/b" {
		t.Fatalf("after tail/a: %+v", b)
	}
	s.close()

	// Resuming after tail/b, in the middle of its transaction's index,
	// gives tail/c, then what was written meanwhile, and nothing twice.
	mustPut(t, c.KV(), "tail/d", "1")
	s = openStream(t, addr, "topic=events&subject="+"herald.dc1.kv.>", map[string]string{"Last-Event-ID": b.id})
	for _, want := range []string{"tail/c", "tail/d"} {
		if ev := s.nextEvent(); ev.Key != want {
			t.Fatalf("resumed tail: %+v, want %s", ev, want)
		}
	}
	mustPut(t, c.KV(), "tail/e", "1")
	e := s.nextEvent()
	if e.Key != "tail/e" {
		t.Fatalf("after the resume: %+v, want tail/e", e)
	}
	s.close()

	// A page that opens the stream again after an HTTP error passes the
	// position as ?index= (an EventSource cannot set Last-Event-ID).
	mustPut(t, c.KV(), "tail/f", "1")
	s = openStream(t, addr, "topic=events&subject="+"herald.dc1.kv.>"+"&index="+url.QueryEscape(e.id), nil)
	if ev := s.nextEvent(); ev.Key != "tail/f" {
		t.Fatalf("resumed from ?index=%s: %+v, want tail/f", e.id, ev)
	}
}

func TestUIStreamEventsAreFilteredByACL(t *testing.T) {
	a, _, _, root := aclServer(t, "-hcl", `acl { default_policy = "deny" }`)
	needsEnforcement(t, a.HTTPAddr())
	needsRulesParser(t)
	policy, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "public-reader",
		Rules: `key_prefix "public/" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := openStream(t, a.HTTPAddr(), "topic=events&token="+tok.SecretID, nil)
	mustPut(t, root.KV(), "secret/x", "1")
	register(t, root, "n1", "web1", "web", nil)
	mustPut(t, root.KV(), "public/x", "1")
	if ev := s.nextEvent(); ev.Key != "public/x" {
		t.Fatalf("a reader of public/ hears %+v first, want public/x", ev)
	}
}
