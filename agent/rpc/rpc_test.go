package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/rpc"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
	"github.com/heraldhq/herald/watch"
)

// A client with no replica writes and reads through a server's NATS.
func TestClientThroughServerNATS(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	nc, err := nats.Connect(a.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := rpc.NewClient(nc, "dc1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	res, at, err := c.ProposeTo(ctx, command.ShardKV, command.Command{Time: time.Now().UnixNano(),
		Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "via/nats", Value: []byte("yes")}}})
	if err != nil || !res.Succeeded || at == 0 {
		t.Fatalf("propose: %+v at %d, %v", res, at, err)
	}
	// A refused command comes back as a result, not an error.
	res, _, err = c.ProposeTo(ctx, command.ShardKV, command.Command{Time: time.Now().UnixNano(),
		Body: &command.KVBody{Op: command.KVOp{Verb: command.KVCAS, Key: "via/nats", Value: []byte("no"), Index: 1}}})
	if err != nil || res.Succeeded {
		t.Fatalf("stale CAS: %+v %v", res, err)
	}
	hc, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	p, _, err := hc.KV().Get("via/nats", nil)
	if err != nil || p == nil || string(p.Value) != "yes" {
		t.Fatalf("the write through NATS is not in the store: %+v %v", p, err)
	}
	index, err := c.ReadBarrier(ctx, command.ShardKV)
	if err != nil || index < p.ModifyIndex {
		t.Fatalf("read barrier: index %d, %v (write at %d)", index, err, p.ModifyIndex)
	}
	if _, ok := c.Leader(command.ShardKV); !ok || c.LeaderAddress() == "" {
		t.Fatal("no leader known through NATS")
	}
	// A client loads its projections from a shard snapshot.
	si, snap, err := c.Snapshot(ctx, command.ShardKV)
	if err != nil || si < p.ModifyIndex || len(snap) == 0 {
		t.Fatalf("snapshot: index %d, %d bytes, %v", si, len(snap), err)
	}

	// A snapshot larger than a NATS message arrives whole, in chunks.
	big := strings.Repeat("x", 500<<10)
	for i := range 20 {
		if _, err := hc.KV().Put(&api.KVPair{Key: fmt.Sprintf("big/%02d", i), Value: []byte(big)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The transfer has no deadline as a whole (it fails when the server
	// stops sending), and the puts above may have used up ctx's.
	si, snap, err = c.Snapshot(t.Context(), command.ShardKV)
	if err != nil || len(snap) <= watch.MaxPayload {
		t.Fatalf("large snapshot: index %d, %d bytes, %v", si, len(snap), err)
	}
	if _, _, err := statemachine.SnapshotSource(snap); err != nil {
		t.Fatalf("the large snapshot does not load: %v", err)
	}

	// Bytes that are no command never reach the log.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, "herald.dc1.rpc.kv.propose", []byte{0xff, 0, 1})
	if err != nil || !strings.Contains(string(msg.Data), "undecodable") {
		t.Fatalf("garbage proposal: %v %s", err, msg.Data)
	}
	if _, _, err := hc.KV().Get("anything", nil); err != nil {
		t.Fatalf("the agent stopped serving after a garbage proposal: %v", err)
	}

	// No server for another datacenter: a quick "no leader", not a hang.
	other := rpc.NewClient(nc, "dc9")
	start := time.Now()
	_, _, err = other.ProposeTo(ctx, command.ShardKV, command.Command{Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "x"}}})
	if !errors.Is(err, hlog.ErrNoLeader) || time.Since(start) > 5*time.Second {
		t.Fatalf("no responders: %v after %v", err, time.Since(start))
	}
}
