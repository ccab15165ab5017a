package statemachine

import (
	"bytes"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

func caRoot(id string, notAfter time.Time) *event.CARoot {
	return &event.CARoot{ID: id, RootCert: "cert " + id, PrivateKey: "key " + id, NotAfter: notAfter.UnixNano()}
}

// caOf is the replica's CA with its keys.
func caOf(t *testing.T, s *StateMachine) *event.ConnectCA {
	t.Helper()
	ca, err := s.ConnectCAWithKeys()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// The CA's first root is created once however many proposers race (each
// expects no root), a rotation keeps the old root inactive, and the state
// survives a snapshot into a new replica, a snapshot source and a reopen;
// the private keys stay in the replica: the events, the projections'
// source and what client agents load have none.
func TestConnectCASetIsACompareAndSetThatSurvivesSnapshots(t *testing.T) {
	dir := t.TempDir()
	// A history of one command folds the others into the base image,
	// through the same apply rule.
	sink := &recordingSink{}
	s := open(t, Config{Dir: dir, Shard: event.ShardCatalog, RetainCommands: 1, Sink: sink})
	now := time.Unix(1000, 0)
	year := now.Add(365 * 24 * time.Hour)
	first := &command.ConnectCASetBody{ClusterID: "c1", Provider: "consul", Config: []byte(`{"LeafCertTTL":"72h"}`), Root: caRoot("r1", year)}
	racer := &command.ConnectCASetBody{ClusterID: "c2", Provider: "consul", Root: caRoot("r2", year)}
	rotate := &command.ConnectCASetBody{ExpectActiveRootID: "r1", Provider: "consul", Root: caRoot("r3", year)}
	stale := &command.ConnectCASetBody{ExpectActiveRootID: "r1", Provider: "consul", Root: caRoot("r4", year)}
	entries := []sm.Entry{ruleEntry(t, 1, now, first), ruleEntry(t, 2, now, racer), ruleEntry(t, 3, now, rotate), ruleEntry(t, 4, now, stale)}
	out, err := s.Update(entries)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true, false} {
		res, err := command.DecodeResult(out[i].Result.Value, out[i].Result.Data)
		if err != nil || res.Succeeded != want {
			t.Fatalf("entry %d: %+v %v, want succeeded=%v", i+1, res, err, want)
		}
	}
	checkKey := func(where string, ca *event.ConnectCA, key string) {
		t.Helper()
		if ca == nil || ca.ClusterID != "c1" || ca.ActiveRootID != "r3" || len(ca.Roots) != 2 ||
			ca.Roots[0].ID != "r1" || ca.Roots[0].Active || !ca.Roots[1].Active || ca.Roots[1].PrivateKey != key ||
			ca.Roots[0].PrivateKey != "" && key == "" || ca.ModifyIndex != 3 || ca.Config["LeafCertTTL"] != nil {
			t.Fatalf("%s: CA state %+v", where, ca)
		}
	}
	check := func(where string, ca *event.ConnectCA) { t.Helper(); checkKey(where, ca, "key r3") }
	check("live", caOf(t, s))
	withoutKeys := func(where string, ca *event.ConnectCA) { t.Helper(); checkKey(where, ca, "") }
	projected, err := dbSource{s.db}.ConnectCA()
	if err != nil {
		t.Fatal(err)
	}
	withoutKeys("the projections' source", projected)
	for _, ev := range sink.events {
		for _, r := range ev.ConnectCA.Roots {
			if r.PrivateKey != "" {
				t.Fatalf("event %d carries root %s's private key", ev.Index, r.ID)
			}
		}
	}
	if last := sink.events[len(sink.events)-1]; last.Index != 3 {
		t.Fatalf("last CA event at %d, want 3", last.Index)
	} else {
		withoutKeys("the last event", last.ConnectCA)
	}
	var base *event.ConnectCA
	if err := scanJSON(s.db.NewIter, areaKey(baseOf(areaConnectCA), caStateKey), func(c *event.ConnectCA) error {
		base = c
		return nil
	}); err != nil || base == nil || base.ActiveRootID != "r3" || len(base.Roots) != 2 {
		t.Fatalf("base image of the CA: %+v %v (want the state before the last retained command, entry 4)", base, err)
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
	check("recovered replica", caOf(t, dst))
	_, src, err := SnapshotSource(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	fromSnap, err := src.(event.ConnectCASource).ConnectCA()
	if err != nil {
		t.Fatal(err)
	}
	withoutKeys("snapshot source", fromSnap)

	var forClients bytes.Buffer
	if _, err := s.ExportWithoutSecrets(&forClients); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(forClients.Bytes(), []byte("key r")) {
		t.Fatal("the export for client agents holds a private key")
	}
	_, src, err = SnapshotSource(forClients.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	fromClientSnap, err := src.(event.ConnectCASource).ConnectCA()
	if err != nil {
		t.Fatal(err)
	}
	withoutKeys("client agents' snapshot", fromClientSnap)

	s.Close()
	reopened := open(t, Config{Dir: dir, Shard: event.ShardCatalog})
	check("reopened", caOf(t, reopened))

	// Roots that expired are dropped at the next rotation.
	later := year.Add(time.Hour)
	if _, err := reopened.Update([]sm.Entry{ruleEntry(t, 5, later, &command.ConnectCASetBody{
		ExpectActiveRootID: "r3", Root: caRoot("r5", later.Add(time.Hour))})}); err != nil {
		t.Fatal(err)
	}
	if ca := caOf(t, reopened); len(ca.Roots) != 1 || ca.ActiveRootID != "r5" {
		t.Fatalf("after the old roots expired: %+v", ca)
	}
}
