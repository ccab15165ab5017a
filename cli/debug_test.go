package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/cli"
)

type exported struct {
	Key   string `json:"key"`
	Flags uint64 `json:"flags"`
	Value string `json:"value"`
}

// snapshotKV reads the whole KV store through the API, in the export format.
func snapshotKV(t *testing.T, c *api.Client) ([]exported, uint64) {
	t.Helper()
	pairs, meta, err := c.KV().List("", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := []exported{}
	for _, p := range pairs {
		out = append(out, exported{p.Key, p.Flags, base64.StdEncoding.EncodeToString(p.Value)})
	}
	return out, meta.LastIndex
}

func runCLI(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = cli.Run("herald", args, cli.IO{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e, Env: os.Getenv})
	return o.String(), e.String(), code
}

// TestDebugReplayMatchesTheAPI records the whole store after every write,
// stops the server, and checks that replaying to each write's index yields
// exactly what the API answered then.
func TestDebugReplayMatchesTheAPI(t *testing.T) {
	dir := t.TempDir()
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+dir, "-node=replay")
	c := agenttest.Client(t, a.HTTPAddr())
	kv := c.KV()
	states := map[uint64][]exported{}
	record := func() {
		s, idx := snapshotKV(t, c)
		states[idx] = s
	}
	steps := []func() error{
		func() error { _, err := kv.Put(&api.KVPair{Key: "a", Value: []byte("1"), Flags: 3}, nil); return err },
		func() error { _, err := kv.Put(&api.KVPair{Key: "dir/x", Value: []byte("x")}, nil); return err },
		func() error { _, err := kv.Put(&api.KVPair{Key: "dir/y", Value: []byte("y")}, nil); return err },
		func() error { _, err := kv.Put(&api.KVPair{Key: "a", Value: []byte("2")}, nil); return err },
		func() error {
			_, _, _, err := c.Txn().Txn(api.TxnOps{
				{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t1", Value: []byte("t")}},
				{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: "a"}},
			}, nil)
			return err
		},
		func() error { _, err := kv.DeleteTree("dir/", nil); return err },
		func() error { _, err := kv.Put(&api.KVPair{Key: "z", Value: []byte{0, 1, 2}}, nil); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		record()
	}
	a.Shutdown()

	for idx, want := range states {
		out, errOut, code := runCLI("debug", "replay", "-data-dir="+dir, fmt.Sprintf("-to-index=%d", idx))
		if code != 0 {
			t.Fatalf("replay to %d: exit %d: %s", idx, code, errOut)
		}
		var got []exported
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("replay to %d printed %q: %v", idx, out, err)
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("state at %d:\nreplay %s\n   api %s", idx, gotJSON, wantJSON)
		}
	}

	out, errOut, code := runCLI("debug", "log", "-data-dir="+dir, "-shard=kv")
	if code != 0 {
		t.Fatalf("debug log: %d %s", code, errOut)
	}
	for _, want := range []string{"set     a", "kv-txn  set     t1", "kv-txn  delete  a", "delete-tree  dir/"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("debug log lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, code := runCLI("debug", "replay", "-data-dir="+dir, "-to-index=999999"); code == 0 || !strings.Contains(errOut, "beyond") {
		t.Errorf("replay past the end: %d %q", code, errOut)
	}
}

// The system shard's history names tokens by AccessorID and never prints
// a SecretID, in either format.
func TestDebugLogOfTheSystemShardShowsNoSecret(t *testing.T) {
	dir := t.TempDir()
	a := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+dir, "-hcl", `acl { enabled = true }`)
	root, _, err := agenttest.Client(t, a.HTTPAddr()).ACL().Bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: root.SecretID})
	tok, _, err := c.ACL().TokenCreate(&api.ACLToken{Description: "ci"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Shutdown()
	for _, format := range []string{"table", "json"} {
		out, errOut, code := runCLI("debug", "log", "-data-dir="+dir, "-shard=system", "-format="+format)
		if code != 0 {
			t.Fatalf("debug log -format=%s: %d %s", format, code, errOut)
		}
		for _, want := range []string{"acl-bootstrap", root.AccessorID, "acl-token-set", tok.AccessorID} {
			if !strings.Contains(out, want) {
				t.Errorf("-format=%s lacks %q:\n%s", format, want, out)
			}
		}
		for _, secret := range []string{root.SecretID, tok.SecretID} {
			if strings.Contains(out, secret) {
				t.Errorf("-format=%s prints a SecretID:\n%s", format, out)
			}
		}
	}
}
