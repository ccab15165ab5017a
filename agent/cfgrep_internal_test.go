package agent

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// configDiff writes what is missing or different here, deletes what the
// primary does not have, and deletes nothing when the primary's ACLs left
// some of its entries out of the list.
func TestConfigDiff(t *testing.T) {
	a := &Agent{cfg: &config.Config{}, configEntries: projections.NewConfigEntries(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	local := func(name, body string) event.Event {
		return event.Event{Type: event.ConfigEntryUpdated, ConfigEntry: &event.ConfigEntry{Kind: "service-defaults", Name: name, Body: []byte(body)}}
	}
	a.configEntries.Apply(5, []event.Event{
		local("same", `{"Kind":"service-defaults","Name":"same","Protocol":"http"}`),
		local("changed", `{"Kind":"service-defaults","Name":"changed","Protocol":"http"}`),
		local("gone", `{"Kind":"service-defaults","Name":"gone","Protocol":"http"}`),
	})
	remote := func() []map[string]any {
		return []map[string]any{
			{"Kind": "service-defaults", "Name": "same", "Protocol": "http", "CreateIndex": 3.0, "ModifyIndex": 4.0},
			{"Kind": "service-defaults", "Name": "changed", "Protocol": "grpc", "CreateIndex": 3.0, "ModifyIndex": 9.0},
			{"Kind": "service-defaults", "Name": "new", "Protocol": "tcp", "CreateIndex": 9.0, "ModifyIndex": 9.0},
		}
	}
	names := func(entries []event.ConfigEntry) []string {
		var out []string
		for _, e := range entries {
			out = append(out, e.Name)
		}
		return out
	}

	upserts, deletes, err := a.configDiff("service-defaults", remote(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(upserts); !slices.Equal(got, []string{"changed", "new"}) {
		t.Errorf("upserts %v, want changed and new", got)
	}
	if string(upserts[0].Body) != `{"Kind":"service-defaults","Name":"changed","Protocol":"grpc"}` {
		t.Errorf("body %s: the primary's answer without its indexes", upserts[0].Body)
	}
	if !slices.Equal(deletes, []command.ConfigEntryRef{{Kind: "service-defaults", Name: "gone"}}) {
		t.Errorf("deletes %v, want gone", deletes)
	}

	upserts, deletes, err = a.configDiff("service-defaults", remote(), true)
	if err != nil || len(upserts) != 2 || len(deletes) != 0 {
		t.Errorf("a list filtered by the primary's ACLs: upserts %v, deletes %v, %v; want no delete", names(upserts), deletes, err)
	}

	if _, _, err := a.configDiff("service-defaults", []map[string]any{{"Kind": "mesh", "Name": "mesh"}}, false); err == nil {
		t.Error("an entry of another kind in the list was taken")
	}
}
