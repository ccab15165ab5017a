package cli_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
)

// keygen prints a new 32-byte key, base64, each time another.
func TestKeygen(t *testing.T) {
	out, errOut, code := runCLI("keygen")
	key, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(out, "\n"))
	if code != 0 || err != nil || len(key) != 32 || errOut != "" {
		t.Fatalf("keygen: %d %q %q %v", code, out, errOut, err)
	}
	if again, _, _ := runCLI("keygen"); again == out {
		t.Fatalf("keygen printed the same key twice: %q", out)
	}
}

// keyring lists the keys and the primary keys in Consul's layout, rotates
// them, and reports the members' refusals and its own usage errors as
// Consul's does.
func TestKeyringCommand(t *testing.T) {
	first := newKey(t)
	a := agenttest.Start(t, "-dev", "-node=kr", "-encrypt="+first)
	addr := "-http-addr=" + a.HTTPAddr()

	out, errOut, code := runCLI("keyring", "-list", addr)
	if code != 0 || out != "==> Gathering installed encryption keys...\n\ndc1 (LAN):\n  "+first+" [1/1]\n" {
		t.Fatalf("keyring -list: %d %q %q", code, out, errOut)
	}
	second := newKey(t)
	steps := []struct{ flag, key, said string }{
		{"-install", second, "==> Installing new gossip encryption key...\n"},
		{"-use", second, "==> Changing primary gossip encryption key...\n"},
	}
	for _, s := range steps {
		if out, errOut, code := runCLI("keyring", s.flag+"="+s.key, addr); code != 0 || out != s.said {
			t.Fatalf("keyring %s: %d %q %q", s.flag, code, out, errOut)
		}
	}
	out, _, code = runCLI("keyring", "-list", addr)
	want := []string{"==> Gathering installed encryption keys...", "", "dc1 (LAN):", "  " + first + " [1/1]", "  " + second + " [1/1]"}
	if code != 0 || !sameLinesAnyOrder(out, want) {
		t.Fatalf("keyring -list with two keys:\n%s", out)
	}
	out, _, code = runCLI("keyring", "-list-primary", "-relay-factor=2", addr)
	if code != 0 || out != "==> Gathering installed primary encryption keys...\n\ndc1 (LAN):\n  "+second+" [1/1]\n" {
		t.Fatalf("keyring -list-primary: %d %q", code, out)
	}

	// The members refuse; the command fails with their messages.
	_, errOut, code = runCLI("keyring", "-remove="+second, addr)
	if code != 1 || !strings.Contains(errOut, "error: Unexpected response code: 500") ||
		!strings.Contains(errOut, "dc1 (LAN) error: 1/1 nodes reported failure") ||
		!strings.Contains(errOut, "kr: removing the primary key is not allowed") {
		t.Fatalf("removing the primary key: %d %q", code, errOut)
	}
	_, errOut, code = runCLI("keyring", "-use="+newKey(t), addr)
	if code != 1 || !strings.Contains(errOut, "kr: requested key is not in the keyring") {
		t.Fatalf("using a key not installed: %d %q", code, errOut)
	}

	if out, errOut, code := runCLI("keyring", "-remove="+first, addr); code != 0 || out != "==> Removing gossip encryption key...\n" {
		t.Fatalf("keyring -remove: %d %q %q", code, out, errOut)
	}
	out, _, _ = runCLI("keyring", "-list", "-local-only", addr)
	if out != "==> Gathering installed encryption keys...\n\ndc1 (LAN):\n  "+second+" [1/1]\n" {
		t.Fatalf("keyring -list -local-only after the rotation: %q", out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-list", "-use=" + first}, "Only a single action is allowed\n"},
		{[]string{"-list-primary", "-remove=" + first}, "Only a single action is allowed\n"},
		{[]string{"-list", "-relay-factor=6"}, "Error parsing relay factor: Relay factor must be in range: [0, 5]\n"},
		{[]string{"-install=" + first, "-local-only"}, "Error validating local-only: local-only can only be set for list requests\n"},
	} {
		if _, errOut, code := runCLI(append([]string{"keyring", addr}, c.args...)...); code != 1 || errOut != c.want {
			t.Errorf("keyring %v: %d %q, want %q", c.args, code, errOut, c.want)
		}
	}
	if _, errOut, code := runCLI("keyring", addr); code != 1 || !strings.Contains(errOut, "Usage: herald keyring [options]") {
		t.Errorf("keyring without an action: %d %q", code, errOut)
	}
}

// Without gossip encryption, listing fails with what the members say.
func TestKeyringWithoutEncryption(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=plain")
	_, errOut, code := runCLI("keyring", "-list", "-http-addr="+a.HTTPAddr())
	if code != 1 || !strings.Contains(errOut, "plain: Keyring is empty (encryption not enabled)") {
		t.Fatalf("keyring -list without encryption: %d %q", code, errOut)
	}
}

func newKey(t *testing.T) string {
	t.Helper()
	out, errOut, code := runCLI("keygen")
	if code != 0 {
		t.Fatalf("keygen: %d %q", code, errOut)
	}
	return strings.TrimSuffix(out, "\n")
}

// sameLinesAnyOrder reports whether out has exactly the lines want, in any
// order.
func sameLinesAnyOrder(out string, want []string) bool {
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, l := range got {
		seen[l]++
	}
	for _, l := range want {
		if seen[l] == 0 {
			return false
		}
		seen[l]--
	}
	return true
}
