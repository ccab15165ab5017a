package config

import (
	"strings"
	"testing"
)

// The gossip encryption keys: Consul's defaults, their file and flag
// spellings, -dev's in-memory keyring, and none of them warned about as
// ignored.
func TestGossipEncryptionKeys(t *testing.T) {
	const key = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	dir := t.TempDir()
	c, err := Load([]string{"-data-dir=" + dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Encrypt != "" || !c.EncryptVerifyIncoming || !c.EncryptVerifyOutgoing || c.DisableKeyringFile {
		t.Fatalf("defaults: %q in=%v out=%v disable_keyring_file=%v",
			c.Encrypt, c.EncryptVerifyIncoming, c.EncryptVerifyOutgoing, c.DisableKeyringFile)
	}

	hcl := write(t, dir, "gossip.hcl", `encrypt = "`+key+`"
encrypt_verify_incoming = false
encrypt_verify_outgoing = false
disable_keyring_file = true
`)
	json := write(t, dir, "gossip.json", `{"encrypt": "`+key+`", "encrypt_verify_incoming": false, "encrypt_verify_outgoing": false, "disable_keyring_file": true}`)
	for _, file := range []string{hcl, json} {
		c, err := Load([]string{"-data-dir=" + dir, "-config-file=" + file})
		if err != nil {
			t.Fatal(err)
		}
		if c.Encrypt != key || c.EncryptVerifyIncoming || c.EncryptVerifyOutgoing || !c.DisableKeyringFile {
			t.Errorf("%s: %q in=%v out=%v disable_keyring_file=%v", file, c.Encrypt,
				c.EncryptVerifyIncoming, c.EncryptVerifyOutgoing, c.DisableKeyringFile)
		}
		for _, w := range c.Warnings {
			if strings.Contains(w, "encrypt") || strings.Contains(w, "keyring") {
				t.Errorf("%s: warning %q", file, w)
			}
		}
	}

	c, err = Load([]string{"-data-dir=" + dir, "-encrypt=" + key, "-disable-keyring-file"})
	if err != nil || c.Encrypt != key || !c.DisableKeyringFile {
		t.Fatalf("flags: %+v, %v", c, err)
	}
	c, err = Load([]string{"-dev"})
	if err != nil || !c.DisableKeyringFile {
		t.Fatalf("-dev keeps its keyring in memory: %v, %v", c.DisableKeyringFile, err)
	}
}

// A key gossip cannot use is refused with Consul's message, the decoding
// error or the size memberlist requires.
func TestInvalidEncryptKey(t *testing.T) {
	for key, want := range map[string]string{
		"this is not a valid key": "encrypt has invalid key: illegal base64 data at input byte 4",
		"c2hvcnQ=":                "encrypt has invalid key: key size must be 16, 24 or 32 bytes",
	} {
		_, err := Load([]string{"-data-dir=" + t.TempDir(), "-encrypt=" + key})
		if err == nil || err.Error() != want {
			t.Errorf("encrypt %q: %v, want %q", key, err, want)
		}
	}
	for _, size := range []string{"cg8StVXbQJ0gPvMd9o7yrg==", "Ae0Tm3E9X5hcfnfeWbO0bc+RzLgq/i0L", "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="} {
		if _, err := Load([]string{"-data-dir=" + t.TempDir(), "-encrypt=" + size}); err != nil {
			t.Errorf("encrypt %q: %v", size, err)
		}
	}
}
