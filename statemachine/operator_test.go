package statemachine

import (
	"bytes"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

func autopilotEntry(t *testing.T, index uint64, body *command.AutopilotSetBody) sm.Entry {
	t.Helper()
	b, err := command.Encode(command.Command{Time: time.Unix(1000, 0).UnixNano(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return sm.Entry{Index: index, Cmd: b}
}

// The autopilot configuration is written with Consul's CAS rule (0: none
// yet), keeps its CreateIndex, emits an event, and travels in snapshots.
func TestAutopilotConfigApplyCASAndSnapshot(t *testing.T) {
	sink := &recordingSink{}
	s := open(t, Config{Shard: event.ShardCatalog, Sink: sink, RetainCommands: 1})
	if c, err := s.AutopilotConfig(); err != nil || c != nil {
		t.Fatalf("before any write: %+v, %v", c, err)
	}
	conf := event.AutopilotConfig{CleanupDeadServers: true, MinQuorum: 3, LastContactThreshold: int64(time.Second)}
	entries := []sm.Entry{
		autopilotEntry(t, 1, &command.AutopilotSetBody{Config: conf, CAS: true, Index: 5}), // refused: none stored
		autopilotEntry(t, 2, &command.AutopilotSetBody{Config: conf, CAS: true, Index: 0}),
		autopilotEntry(t, 3, &command.AutopilotSetBody{Config: conf, CAS: true, Index: 0}), // refused: stored at 2
		autopilotEntry(t, 4, &command.AutopilotSetBody{Config: event.AutopilotConfig{MinQuorum: 5}}),
	}
	out, err := s.Update(entries)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint64{command.ResultFailed, command.ResultSucceeded, command.ResultFailed, command.ResultSucceeded} {
		if out[i].Result.Value != want {
			t.Errorf("entry %d: result %d, want %d (%s)", i+1, out[i].Result.Value, want, out[i].Result.Data)
		}
	}
	c, err := s.AutopilotConfig()
	if err != nil || c == nil || c.CreateIndex != 2 || c.ModifyIndex != 4 || c.MinQuorum != 5 || c.CleanupDeadServers {
		t.Fatalf("stored: %+v, %v", c, err)
	}
	if len(sink.events) != 2 || sink.events[1].Type != event.AutopilotUpdated || sink.events[1].Autopilot.ModifyIndex != 4 ||
		sink.events[1].Key != event.AutopilotKey {
		t.Fatalf("events: %+v", sink.events)
	}

	ctx, err := s.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.SaveSnapshot(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	dst := open(t, Config{Shard: event.ShardCatalog})
	if err := dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := dst.AutopilotConfig(); err != nil || got == nil || *got != *c {
		t.Fatalf("recovered: %+v, %v; want %+v", got, err, c)
	}
}
