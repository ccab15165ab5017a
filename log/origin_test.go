package log_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
)

// A command proposed under a request's origin and identity records them
// (the accessor, never the secret), and every event it causes carries the
// accessor; a command stamped elsewhere (a client agent's) keeps its own.
func TestProposeRecordsOrigin(t *testing.T) {
	servers, _ := startCluster(t, 1)
	s := servers[0]
	s.host.Requests().SetNode("server-1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	reqCtx := command.WithOrigin(ctx, command.Origin{Via: command.ViaHTTP, RemoteAddr: "10.9.8.7:6543"})
	reqCtx = acl.WithIdentity(reqCtx, acl.Identity{AccessorID: "acc-1", SecretID: "secret-never-recorded"})
	if err := put(reqCtx, s.host, "audited", "v"); err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, s.host, "background", "v"); err != nil {
		t.Fatal(err)
	}
	forwarded := command.Origin{Via: command.ViaHTTP, Node: "client-1", RemoteAddr: "10.0.0.2:40000", Accessor: "acc-2"}
	if _, err := s.host.Propose(reqCtx, command.Command{Time: time.Now().UnixNano(), Origin: forwarded,
		Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "forwarded"}}}); err != nil {
		t.Fatal(err)
	}

	evs, err := s.machines[command.ShardKV].Read(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	accessors := map[string]string{}
	for _, ev := range evs {
		if ev.Type == event.KVUpdated {
			accessors[ev.Key] = ev.Accessor
		}
	}
	if accessors["audited"] != "acc-1" || accessors["background"] != "" || accessors["forwarded"] != "acc-2" {
		t.Fatalf("accessors of the events: %v", accessors)
	}
	payload, _ := json.Marshal(evs)
	if strings.Contains(string(payload), "secret-never-recorded") {
		t.Fatal("an event carries the SecretID")
	}

	s.stop()
	st, err := statemachine.OpenOffline(filepath.Join(s.dir, "state", command.ShardKV.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	origins := map[string]command.Origin{}
	err = st.History(0, st.Applied(), func(h statemachine.HistoryEntry) error {
		if kv, ok := h.Command.Body.(*command.KVBody); ok {
			origins[kv.Op.Key] = h.Command.Origin
		}
		return h.Err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]command.Origin{
		"audited":    {Via: command.ViaHTTP, Node: "server-1", RemoteAddr: "10.9.8.7:6543", Accessor: "acc-1"},
		"background": {Via: command.ViaAgent, Node: "server-1"},
		"forwarded":  forwarded,
	}
	for key, o := range want {
		if origins[key] != o {
			t.Errorf("history of %s: origin %+v, want %+v", key, origins[key], o)
		}
	}
}
