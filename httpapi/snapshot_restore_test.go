package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/testutil/poll"
)

// oldRestoreCap is what one shard's snapshot could weigh before restores
// were chunked (one Raft entry carried it).
const oldRestoreCap = 60 << 20

// A snapshot whose kv shard is larger than a restore could once take
// restores on a one-server cluster over other data, and on a fresh
// three-server cluster, where every replica ends with the same state.
// Under the race detector (make test) the shard is 2 MB, cut in chunks of
// 256 kB, still several: writing 64 MB there takes minutes.
func TestSnapshotRestoreLargerThanOneEntry(t *testing.T) {
	size := oldRestoreCap
	if raceDetector || testing.Short() {
		size = 2 << 20
		t.Cleanup(httpapi.SetRestoreChunkSize(256 << 10))
	}
	src := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-node=big-src")
	c := agenttest.Client(t, src.HTTPAddr())
	const valueSize = 500 << 10
	keys := size/valueSize + 8
	for i := range keys {
		v := bytes.Repeat([]byte(fmt.Sprintf("value of key %04d;", i)), valueSize/18)
		if _, err := c.KV().Put(&api.KVPair{Key: fmt.Sprintf("big/%04d", i), Value: v, Flags: uint64(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := kvDigest(t, c, nil)
	archive := saveSnapshot(t, c)
	_, files, err := httpapi.ReadSnapshot(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(files["kv.snap"]); n <= size {
		t.Fatalf("kv shard's snapshot is %d bytes, not above %d", n, size)
	}

	// One server: writes after the save are undone by the restore.
	if _, err := c.KV().Put(&api.KVPair{Key: "big/0000", Value: []byte("changed")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "later", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	t.Logf("restored %d bytes of kv shard on one server in %v", len(files["kv.snap"]), time.Since(start))
	if got := kvDigest(t, c, nil); got != want {
		t.Fatalf("after the restore on one server the KV store is\n%s\nwant\n%s", got, want)
	}

	// Three servers, fresh: each replica holds the same state.
	servers := agenttest.StartServers(t, 3, "restore")
	start = time.Now()
	if err := servers[0].Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	t.Logf("restored %d bytes of kv shard on three servers in %v", len(files["kv.snap"]), time.Since(start))
	for i, s := range servers {
		poll.Eventually(t, 60*time.Second, fmt.Sprintf("server %d serves the restored KV store", i), func() (bool, string) {
			got := kvDigest(t, s, &api.QueryOptions{AllowStale: true})
			return got == want, got
		})
	}
	// Byte for byte: each server's own replica of the kv shard, exported
	// after a read barrier, is the same stream (the same records, the same
	// applied index and offset).
	var first []byte
	for i, s := range servers {
		_, files, err := httpapi.ReadSnapshot(bytes.NewReader(saveSnapshot(t, s)))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = files["kv.snap"]
		} else if !bytes.Equal(files["kv.snap"], first) {
			t.Fatalf("server %d's kv replica (%d bytes) differs from server 0's (%d bytes)", i, len(files["kv.snap"]), len(first))
		}
	}
}

// kvDigest sums up the whole KV store as the client reads it: each key
// with its flags and a hash of its value.
func kvDigest(t *testing.T, c *api.Client, q *api.QueryOptions) string {
	t.Helper()
	pairs, _, err := c.KV().List("", q)
	if err != nil {
		return err.Error()
	}
	var b bytes.Buffer
	for _, p := range pairs {
		fmt.Fprintf(&b, "%s flags=%d sha256=%x\n", p.Key, p.Flags, sha256.Sum256(p.Value))
	}
	return fmt.Sprintf("%d keys, digest %x", len(pairs), sha256.Sum256(b.Bytes()))
}

func saveSnapshot(t *testing.T, c *api.Client) []byte {
	t.Helper()
	rc, _, err := c.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
