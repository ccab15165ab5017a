package statemachine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// The apply rules are tested as tables, after Consul's catalog event tests:
// each case applies its setup commands, then one command, and says what
// that command answers and which events it causes. Events are compared as
// one-line projections (see show), so a table reads as a list of changes.

// ruleCase is one command under test.
type ruleCase struct {
	name string
	// setup is applied first, one command per Raft index from 1, all at
	// ruleT0; every one of them must succeed, and their events are ignored.
	setup []command.Body
	// apply is the command under test, applied at the next index, at
	// ruleT0 plus after (its Time: lock delays are measured by it).
	apply command.Body
	after time.Duration
	// refused is the refusal message the command must answer with; empty,
	// the command must succeed.
	refused string
	// events are the projections of the events the command causes, in
	// order.
	events []string
}

// ruleT0 is when setup commands are proposed.
var ruleT0 = time.Unix(1000, 0)

// runRules runs cases, each on a fresh state machine. Beyond what a case
// states, it checks that every event carries the command's index and its
// shard, and that a command without events (refused or a no-op) left the
// state exactly as it was.
func runRules(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &recordingSink{}
			s := open(t, Config{Sink: sink, Shard: c.apply.Type().Shard().String()})
			idx := uint64(0)
			for i, b := range c.setup {
				idx++
				res := update(t, s, ruleEntry(t, idx, ruleT0, b))[0].Result
				if res.Value != command.ResultSucceeded {
					t.Fatalf("setup %d (%T) refused: %s", i, b, res.Data)
				}
			}
			before := dataDump(t, s)
			sink.events = nil
			idx++
			res := update(t, s, ruleEntry(t, idx, ruleT0.Add(c.after), c.apply))[0].Result

			switch {
			case c.refused == "" && res.Value != command.ResultSucceeded:
				t.Errorf("refused with %s, want success", res.Data)
			case c.refused != "" && res.Value != command.ResultFailed:
				t.Errorf("succeeded, want refused with %q", c.refused)
			case c.refused != "":
				if r, err := command.DecodeResult(res.Value, res.Data); err != nil || r.Refusal != c.refused {
					t.Errorf("refused with %s, want %q", res.Data, c.refused)
				}
			}

			got := make([]string, len(sink.events))
			for i, ev := range sink.events {
				got[i] = show(ev)
				if ev.Index != idx {
					t.Errorf("event %q has index %d, want the command's %d", got[i], ev.Index, idx)
				}
				if want := shardOf(ev.Type); ev.Shard != want {
					t.Errorf("event %q is in shard %q, want %q", got[i], ev.Shard, want)
				}
			}
			if !slices.Equal(got, c.events) {
				t.Errorf("events:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(c.events, "\n       "))
			}
			if len(got) == 0 && dataDump(t, s) != before {
				t.Errorf("the state changed, but no event says so")
			}
		})
	}
}

func ruleEntry(t *testing.T, index uint64, at time.Time, body command.Body) sm.Entry {
	t.Helper()
	b, err := command.Encode(command.Command{Time: at.UnixNano(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return sm.Entry{Index: index, Cmd: b}
}

func shardOf(typ event.Type) string {
	if strings.HasPrefix(string(typ), "catalog.") {
		return event.ShardCatalog
	}
	return event.ShardKV
}

// dataDump is every key and value of the replicated data areas.
func dataDump(t *testing.T, s *StateMachine) string {
	t.Helper()
	var b strings.Builder
	for _, area := range dataAreas {
		it := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{area}, UpperBound: areaEnd(area)})
		for ok := it.First(); ok; ok = it.Next() {
			fmt.Fprintf(&b, "%q=%q\n", it.Key(), it.Value())
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// show projects an event on the fields the rules are about:
//
//	catalog.node.updated <name> addr=<address> @<create>/<modify>
//	catalog.service.updated <name> id=<id> node=<node> port=<port> tags=<a,b> @...
//	catalog.check.updated <id> node=<node> svc=<service id> status=<status> output=<output> @...
//	kv.updated <key> value=<value> session=<id> lock=<lock index> @...
//	kv.deleted <key>
//	session.updated <id> node=<node> behavior=<behavior> delay=<lock delay> checks=<ids> deadline=<from ruleT0> @...
//	catalog.query.updated <id> name=<name> service=<service> @...
//
// Empty optional fields (svc, output, session, checks, deadline, tags) are
// left out.
func show(ev event.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", ev.Type, ev.Key)
	opt := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%s", name, v)
		}
	}
	at := func(create, modify uint64) { fmt.Fprintf(&b, " @%d/%d", create, modify) }
	switch {
	case ev.Node != nil:
		n := ev.Node
		fmt.Fprintf(&b, " addr=%s", n.Address)
		at(n.CreateIndex, n.ModifyIndex)
	case ev.Service != nil:
		s := ev.Service
		fmt.Fprintf(&b, " id=%s node=%s port=%d", s.ID, s.Node, s.Port)
		opt("tags", strings.Join(s.Tags, ","))
		at(s.CreateIndex, s.ModifyIndex)
	case ev.Check != nil:
		c := ev.Check
		fmt.Fprintf(&b, " node=%s", c.Node)
		opt("svc", c.ServiceID)
		fmt.Fprintf(&b, " status=%s", c.Status)
		opt("output", c.Output)
		at(c.CreateIndex, c.ModifyIndex)
	case ev.Type == event.KVDeleted:
	case ev.KV != nil:
		e := ev.KV
		fmt.Fprintf(&b, " value=%s", e.Value)
		opt("session", e.Session)
		fmt.Fprintf(&b, " lock=%d", e.LockIndex)
		at(e.CreateIndex, e.ModifyIndex)
	case ev.Session != nil:
		s := ev.Session
		fmt.Fprintf(&b, " node=%s behavior=%s delay=%v", s.Node, s.Behavior, time.Duration(s.LockDelay))
		checks := slices.Clone(s.NodeChecks)
		for _, sc := range s.ServiceChecks {
			checks = append(checks, "svc:"+sc.ID)
		}
		opt("checks", strings.Join(checks, ","))
		if s.Deadline != 0 {
			fmt.Fprintf(&b, " deadline=%v", time.Unix(0, s.Deadline).Sub(ruleT0))
		}
		at(s.CreateIndex, s.ModifyIndex)
	case ev.Query != nil:
		q := ev.Query
		fmt.Fprintf(&b, " name=%s service=%s", q.Name, q.Service.Service)
		at(q.CreateIndex, q.ModifyIndex)
	}
	return b.String()
}

// then is a setup followed by more commands.
func then(setup []command.Body, more ...command.Body) []command.Body {
	return slices.Concat(setup, more)
}
