package statemachine

import (
	"bytes"
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// A config-replicate round writes and deletes entries with the events of
// a plain write, and records the primary's index; a round not newer than
// the record changes nothing, a Resync applies all the same, an error
// round records the error alone, a malformed round is refused whole, and
// the status travels in a snapshot.
func TestConfigReplicate(t *testing.T) {
	sink := &recordingSink{}
	s := open(t, Config{Shard: event.ShardCatalog, Sink: sink})
	entry := func(kind, name, body string) event.ConfigEntry {
		return event.ConfigEntry{Kind: kind, Name: name, Body: []byte(body)}
	}
	get := func(kind, name string) *event.ConfigEntry {
		t.Helper()
		e, err := newConfigEntryStore(s.db.NewIndexedBatch(), false).get(kind, name)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	status := func() command.ConfigReplicationStatus {
		t.Helper()
		st, err := s.ConfigReplicationStatus()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	mustApply := func(b *command.ConfigReplicateBody) {
		t.Helper()
		if res := applyAll(t, s, b); !res[0].Succeeded {
			t.Fatalf("refused: %s", res[0].Refusal)
		}
	}

	applyAll(t, s, &command.ConfigEntrySetBody{Entry: entry("service-router", "local", `{"Kind":"service-router","Name":"local"}`)})
	first := &command.ConfigReplicateBody{SourceDatacenter: "dc1", SourceIndex: 10,
		Upserts: []event.ConfigEntry{entry("service-defaults", "web", `{"Protocol":"http"}`), entry("proxy-defaults", "global", `{}`)},
		Deletes: []command.ConfigEntryRef{{Kind: "service-router", Name: "local"}}}
	sink.events = nil
	mustApply(first)
	at := s.Applied()
	if len(sink.events) != 3 || sink.events[0].Type != event.ConfigEntryUpdated || sink.events[2].Type != event.ConfigEntryDeleted {
		t.Fatalf("events of the first round: %+v", sink.events)
	}
	if e := get("service-defaults", "web"); e == nil || string(e.Body) != `{"Protocol":"http"}` || e.ModifyIndex != at {
		t.Fatalf("replicated entry: %+v", e)
	}
	if get("service-router", "local") != nil {
		t.Fatal("the entry the round deletes is still here")
	}
	if st := status(); st.SourceDatacenter != "dc1" || st.SourceIndex != 10 || st.Index != at || st.LastSuccess != ruleT0.UnixNano() {
		t.Fatalf("status after the first round: %+v", st)
	}

	// The same round again (a former leader's, say): nothing changes.
	sink.events = nil
	again := *first
	again.Upserts = []event.ConfigEntry{entry("service-defaults", "web", `{"Protocol":"grpc"}`)}
	mustApply(&again)
	if len(sink.events) != 0 || string(get("service-defaults", "web").Body) != `{"Protocol":"http"}` || status().Index != at {
		t.Fatalf("a round not newer than the record applied: events %+v, status %+v", sink.events, status())
	}

	// A failed round records its error and keeps the index.
	mustApply(&command.ConfigReplicateBody{SourceDatacenter: "dc1", Error: "primary unreachable"})
	if st := status(); st.SourceIndex != 10 || st.LastErrorMessage != "primary unreachable" || st.LastError == 0 {
		t.Fatalf("status after an error: %+v", st)
	}

	// A malformed round is refused whole.
	bad := &command.ConfigReplicateBody{SourceDatacenter: "dc1", SourceIndex: 11,
		Upserts: []event.ConfigEntry{entry("service-defaults", "api", `{}`), entry("service-defaults", "", `{}`)}}
	if res := applyAll(t, s, bad); res[0].Succeeded || get("service-defaults", "api") != nil || status().SourceIndex != 10 {
		t.Fatalf("a round with a nameless entry: %+v, status %+v", res[0], status())
	}

	// The primary's index went back (restored): a Resync applies.
	mustApply(&command.ConfigReplicateBody{SourceDatacenter: "dc1", SourceIndex: 4, Resync: true,
		Upserts: []event.ConfigEntry{entry("service-defaults", "web", `{"Protocol":"tcp"}`)}})
	if st := status(); st.SourceIndex != 4 || string(get("service-defaults", "web").Body) != `{"Protocol":"tcp"}` {
		t.Fatalf("after a resync: %+v", st)
	}

	var buf bytes.Buffer
	if _, err := s.Export(&buf); err != nil {
		t.Fatal(err)
	}
	dst := open(t, Config{Shard: event.ShardCatalog})
	if err := dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	if st, err := dst.ConfigReplicationStatus(); err != nil || st != status() {
		t.Fatalf("the status did not travel in the snapshot: %+v %v, want %+v", st, err, status())
	}
}
