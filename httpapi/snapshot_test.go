package httpapi_test

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/testutil/poll"
)

// A snapshot saved on one agent restores on a fresh one with the same data
// and the same indexes; writes after the restore get higher indexes.
func TestSnapshotSaveAndRestore(t *testing.T) {
	src, _ := newClient(t)
	for i, k := range []string{"app/a", "app/b", "other"} {
		if _, err := src.KV().Put(&api.KVPair{Key: k, Value: []byte(k), Flags: uint64(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.9.9.9",
		Service: &api.AgentService{ID: "db1", Service: "db", Port: 5432}}, nil); err != nil {
		t.Fatal(err)
	}
	want, _, _ := src.KV().List("", nil)

	rc, meta, err := src.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(rc)
	rc.Close()
	info, _, err := httpapi.ReadSnapshot(bytes.NewReader(archive))
	if err != nil || info.Index == 0 || info.Index != meta.LastIndex || len(info.Indexes) != len(command.Shards()) {
		t.Fatalf("archive meta: %+v %v (header index %d)", info, err, meta.LastIndex)
	}

	dst, base := newClient(t)
	if err := dst.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	got, _, _ := dst.KV().List("", nil)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("restored KV differs:\n got %+v\nwant %+v", got, want)
	}
	svcs, _, _ := dst.Catalog().Service("db", "", nil)
	if len(svcs) != 1 || svcs[0].Address != "10.9.9.9" {
		t.Fatalf("restored catalog: %+v", svcs)
	}
	// The fresh agent puts its own node back into the restored catalog.
	self, _ := dst.Agent().NodeName()
	poll.True(t, 5*time.Second, "agent's node back in the catalog", func() bool {
		n, _, _ := dst.Catalog().Node(self, nil)
		return n != nil
	})
	// A write after the restore is indexed after everything restored.
	if _, err := dst.KV().Put(&api.KVPair{Key: "after", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	p, _, _ := dst.KV().Get("after", nil)
	for _, e := range want {
		if p.ModifyIndex <= e.ModifyIndex {
			t.Fatalf("write after restore has index %d, not above restored %d", p.ModifyIndex, e.ModifyIndex)
		}
	}
	// A corrupt archive is refused and changes nothing.
	bad := append([]byte(nil), archive...)
	bad[len(bad)/2] ^= 0xff
	if r := do(t, "PUT", base+"/v1/snapshot", string(bad)); r.code != 400 {
		t.Fatalf("corrupt archive: %d %s", r.code, r.body)
	}
	if r := do(t, "PUT", base+"/v1/snapshot", "not a snapshot"); r.code != 400 || !strings.Contains(r.body, "snapshot") {
		t.Fatalf("garbage archive: %d %s", r.code, r.body)
	}
	if p, _, _ := dst.KV().Get("after", nil); p == nil {
		t.Fatal("a refused restore changed the state")
	}
}
