package statemachine

import (
	"bytes"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// Prepared queries travel in snapshots: a recovered replica, the base
// image of the history, and a client agent's SnapshotSource all have them,
// and the catalog projection loads them.
func TestQueriesInSnapshots(t *testing.T) {
	src := open(t, Config{Shard: event.ShardCatalog, RetainCommands: 1})
	entries := []sm.Entry{
		ruleEntry(t, 1, ruleT0, createQuery(queryID1, "web", "web")),
		ruleEntry(t, 2, ruleT0, template(queryID2, "geo-", "${name.suffix}", "")),
	}
	if _, err := src.Update(entries); err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if e.Result.Value != 1 {
			t.Fatalf("entry %d refused: %s", i, e.Result.Data)
		}
	}
	var buf bytes.Buffer
	if _, err := src.Export(&buf); err != nil {
		t.Fatal(err)
	}

	names := func(s event.Source) []string {
		t.Helper()
		cat := projections.NewCatalog()
		if err := cat.Load(2, s); err != nil {
			t.Fatal(err)
		}
		qs, index, _ := cat.Queries(false)
		out := []string{}
		for _, q := range qs {
			out = append(out, q.Name)
		}
		if index != 2 {
			t.Errorf("queries index %d, want 2", index)
		}
		return out
	}
	_, snap, err := SnapshotSource(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(snap); len(got) != 2 || got[0] != "web" || got[1] != "geo-" {
		t.Fatalf("snapshot source: %v", got)
	}
	dst := open(t, Config{Shard: event.ShardCatalog})
	if err := dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	if got := names(dbSource{dst.db}); len(got) != 2 {
		t.Fatalf("recovered replica: %v", got)
	}
	// With one command retained, the first was folded into the base image.
	var base []string
	if err := scanJSON(src.db.NewIter, []byte{baseOf(areaQueries)}, func(q *event.PreparedQuery) error {
		base = append(base, q.Name)
		return nil
	}); err != nil || len(base) == 0 || base[0] != "web" {
		t.Fatalf("base image: %v %v", base, err)
	}
}
