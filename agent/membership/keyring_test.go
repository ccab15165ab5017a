package membership

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newKey(t *testing.T) string {
	t.Helper()
	k, err := KeyGen()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyringFileKeys reads a keyring file as Consul's tools would: a JSON list
// of base64 keys.
func keyringFileKeys(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("keyring file %s: %v\n%s", path, err, data)
	}
	return keys
}

// The keyring file is created from the encrypt key, follows every install,
// use and remove on every member, and wins over a stale encrypt key when the
// member starts again, which then still joins the rotated pool.
func TestKeyringFileFollowsRotationAndSurvivesRestart(t *testing.T) {
	first, second := newKey(t), newKey(t)
	ca, cb := testConfig("a"), testConfig("b")
	ca.Port = freePort(t) // a comes back on the same address
	ca.EncryptKey, cb.EncryptKey = first, first
	ca.KeyringPath = filepath.Join(t.TempDir(), KeyringFile)
	cb.KeyringPath = filepath.Join(t.TempDir(), KeyringFile)
	a, b := start(t, ca), start(t, cb)

	for _, path := range []string{ca.KeyringPath, cb.KeyringPath} {
		if got := keyringFileKeys(t, path); !slices.Equal(got, []string{first}) {
			t.Fatalf("new keyring file %s: %v", path, got)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("keyring file mode: %v %v", st.Mode(), err)
		}
	}
	if _, err := b.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, "b", StatusAlive, 10*time.Second)

	steps := []struct {
		op   KeyOp
		key  string
		want []string // each member's keyring afterwards, primary first
	}{
		{InstallKey, second, []string{first, second}},
		{UseKey, second, []string{second, first}},
		{RemoveKey, first, []string{second}},
	}
	for _, s := range steps {
		res, err := a.Keyring(s.op, s.key, 0)
		if err != nil || res.NumNodes != 2 {
			t.Fatalf("keyring op %d: %+v, %v", s.op, res, err)
		}
		for _, m := range []*Membership{a, b} {
			if got := keyringFileKeys(t, m.cfg.KeyringPath); !slices.Equal(got, s.want) {
				t.Fatalf("op %d: %s's keyring file holds %v, want %v", s.op, m.cfg.NodeName, got, s.want)
			}
			if got := m.LocalKeys(); !slices.Equal(got, s.want) {
				t.Fatalf("op %d: %s's keyring holds %v, want %v", s.op, m.cfg.NodeName, got, s.want)
			}
		}
	}
	list, err := b.Keyring(ListKeys, "", 0)
	if err != nil || list.NumNodes != 2 || list.Keys[second] != 2 || list.PrimaryKeys[second] != 2 || len(list.Keys) != 1 {
		t.Fatalf("list after the rotation: %+v, %v", list, err)
	}

	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, "a", StatusLeft, 10*time.Second)
	logs := &syncBuffer{}
	ca.Logger = slog.New(slog.NewTextHandler(logs, nil))
	again := start(t, ca) // still says encrypt = first, which the cluster no longer has
	if got := again.LocalKeys(); !slices.Equal(got, []string{second}) {
		t.Fatalf("restarted member's keyring: %v", got)
	}
	if !strings.Contains(logs.String(), "keyring doesn't include key provided with -encrypt, using keyring") {
		t.Errorf("no warning about the stale encrypt key:\n%s", logs)
	}
	if _, err := again.Join([]string{addr(b)}); err != nil {
		t.Fatalf("restarted member joins with its kept keyring: %v", err)
	}
	waitStatus(t, b, "a", StatusAlive, 10*time.Second)
}

// Serf's refusals reach the caller: the primary key cannot be removed, and
// a key that is not installed cannot be used; each member says so.
func TestKeyringRefusals(t *testing.T) {
	key, other := newKey(t), newKey(t)
	ca, cb := testConfig("a"), testConfig("b")
	ca.EncryptKey, cb.EncryptKey = key, key
	a, b := start(t, ca), start(t, cb)
	if _, err := b.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, "b", StatusAlive, 10*time.Second)

	for _, c := range []struct {
		op   KeyOp
		key  string
		want string
	}{
		{RemoveKey, key, "removing the primary key is not allowed"},
		{UseKey, other, "requested key is not in the keyring"},
		{InstallKey, base64.StdEncoding.EncodeToString([]byte("short")), "key size must be 16, 24 or 32 bytes"},
	} {
		res, err := a.Keyring(c.op, c.key, 0)
		if err == nil || err.Error() != "2/2 nodes reported failure" {
			t.Errorf("op %d: error %v", c.op, err)
		}
		if len(res.Messages) != 2 || res.Messages["a"] != c.want || res.Messages["b"] != c.want {
			t.Errorf("op %d: messages %v, want %q from both", c.op, res.Messages, c.want)
		}
	}
	if got := b.LocalKeys(); !slices.Equal(got, []string{key}) {
		t.Errorf("keyring after the refusals: %v", got)
	}
}

// Without any key, the keyring is off: no file is written, and the members
// say so.
func TestNoEncryptionNoKeyringFile(t *testing.T) {
	c := testConfig("plain")
	c.KeyringPath = filepath.Join(t.TempDir(), KeyringFile)
	m := start(t, c)
	if m.EncryptionEnabled() || m.LocalKeys() != nil {
		t.Fatalf("encryption on without a key: %v", m.LocalKeys())
	}
	if _, err := os.Stat(c.KeyringPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("keyring file without a key: %v", err)
	}
	res, err := m.Keyring(ListKeys, "", 0)
	if err == nil || res.Messages["plain"] != "Keyring is empty (encryption not enabled)" {
		t.Fatalf("list without encryption: %+v, %v", res, err)
	}
}

// A keyring file alone turns encryption on, with its first key primary.
func TestKeyringFileWithoutEncryptKey(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	path := filepath.Join(t.TempDir(), KeyringFile)
	if err := writeKeyringFile(path, [][]byte{mustDecode(t, k1), mustDecode(t, k2)}); err != nil {
		t.Fatal(err)
	}
	c := testConfig("a")
	c.KeyringPath = path
	m := start(t, c)
	if !m.EncryptionEnabled() || !slices.Equal(m.LocalKeys(), []string{k1, k2}) {
		t.Fatalf("keyring from the file: %v", m.LocalKeys())
	}
}

func mustDecode(t *testing.T, k string) []byte {
	t.Helper()
	b, err := DecodeKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A keyring file that cannot be used stops the start rather than leaving
// gossip unencrypted.
func TestBadKeyringFileIsRejected(t *testing.T) {
	for name, content := range map[string]string{
		"not json":  "hello",
		"empty":     "[]",
		"short key": fmt.Sprintf("[%q]", base64.StdEncoding.EncodeToString([]byte("short"))),
		"not b64":   `["%%%"]`,
	} {
		path := filepath.Join(t.TempDir(), "local.keyring")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c := testConfig("x")
		c.KeyringPath = path
		c.EncryptKey = newKey(t)
		if m, err := Start(c); err == nil {
			_ = m.Shutdown()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

// encrypt_verify_incoming and _outgoing off let a member with a key and one
// without gossip together, the first step of moving a running pool to
// encryption; a member that verifies refuses the one without a key.
func TestPlaintextAllowedWhileMovingToEncryption(t *testing.T) {
	key := newKey(t)
	moving := testConfig("moving")
	moving.EncryptKey, moving.PlaintextIncoming, moving.PlaintextOutgoing = key, true, true
	strict := testConfig("strict")
	strict.EncryptKey = key
	m, s, plain := start(t, moving), start(t, strict), start(t, testConfig("plain"))
	if !m.EncryptionEnabled() {
		t.Fatal("encryption off with a key")
	}
	if _, err := plain.Join([]string{addr(m)}); err != nil {
		t.Fatalf("unencrypted member joining one that accepts plaintext: %v", err)
	}
	waitStatus(t, m, "plain", StatusAlive, 10*time.Second)
	waitStatus(t, plain, "moving", StatusAlive, 10*time.Second)
	if n, err := plain.Join([]string{addr(s)}); err == nil || n != 0 {
		t.Fatalf("unencrypted member joining one that verifies: n=%d err=%v", n, err)
	}
}
