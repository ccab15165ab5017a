package rpc_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
)

// A client's command keeps the origin the client stamped on it; one that
// came without an origin is marked as forwarded by the server, not passed
// off as the server's own work.
func TestServerKeepsTheClientsOrigin(t *testing.T) {
	dir := t.TempDir()
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+dir, "-node=origin-server")
	nc, err := nats.Connect(a.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	put := func(c *rpc.Client, key string) {
		t.Helper()
		if res, _, err := c.ProposeTo(ctx, command.ShardKV, command.Command{Time: time.Now().UnixNano(),
			Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: key}}}); err != nil || !res.Succeeded {
			t.Fatalf("propose %s: %+v %v", key, res, err)
		}
	}
	recording := rpc.NewClient(nc, "dc1")
	recording.Requests().SetNode("origin-client")
	put(recording, "with-origin")
	gated := rpc.NewClient(nc, "dc1")
	gated.Requests().SetRecordOrigin(func() bool { return false })
	put(gated, "without-origin")
	a.Shutdown()

	st, err := statemachine.OpenOffline(filepath.Join(dir, "state", command.ShardKV.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	origins := map[string]command.Origin{}
	if err := st.History(0, st.Applied(), func(h statemachine.HistoryEntry) error {
		if kv, ok := h.Command.Body.(*command.KVBody); ok {
			origins[kv.Op.Key] = h.Command.Origin
		}
		return h.Err
	}); err != nil {
		t.Fatal(err)
	}
	if o := origins["with-origin"]; o != (command.Origin{Via: command.ViaAgent, Node: "origin-client"}) {
		t.Errorf("the client's own origin became %+v", o)
	}
	if o := origins["without-origin"]; o != (command.Origin{Via: command.ViaRPC, Node: "origin-server"}) {
		t.Errorf("a command without an origin was recorded as %+v", o)
	}
}
