//go:build unix

package bench

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"
)

// TestEtcdKVAgainstEtcd checks the native client against a real etcd
// member when one is installed (Debian's etcd-server is 3.4, whose
// server the 3.5 client must speak to): a write, a read of it, a read of
// a missing key, and the member naming itself leader.
func TestEtcdKVAgainstEtcd(t *testing.T) {
	bin, err := exec.LookPath("/usr/bin/etcd")
	if err != nil {
		t.Skip("no etcd installed (apt-get install etcd-server)")
	}
	members, err := StartEtcd(bin, t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := members[0]
	t.Cleanup(m.Stop)
	kv, err := NewEtcdKV(m.ClientAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	ctx := context.Background()
	if err := m.WaitWrite(ctx, 30*time.Second, kv, "bench/ready", "accept a write", nil); err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "bench/a", value(DefaultValueSize)); err != nil {
		t.Fatal(err)
	}
	if err := kv.Get(ctx, "bench/a"); err != nil {
		t.Errorf("get after put: %v", err)
	}
	if err := kv.Get(ctx, "bench/missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get of a missing key: %v, want ErrNotFound", err)
	}
	if i, err := EtcdLeader(ctx, members); err != nil || i != 0 {
		t.Errorf("EtcdLeader = %d, %v", i, err)
	}
	r := Run(ctx, kv, Config{Op: OpPut, Concurrency: 8, Count: 200, Keys: 20})
	if r.Ops != 200 || r.Errors != 0 {
		t.Errorf("8 writers: %d ops, %d errors (%s)", r.Ops, r.Errors, r.FirstError)
	}
}
