package config

import (
	"fmt"

	"github.com/heraldhq/herald/agent/membership"
)

// Gossip encryption, as Consul's keys set it:
//
//   - encrypt (-encrypt): the key, base64 of 16, 24 or 32 bytes, as
//     `herald keygen` prints it. It seeds the keyring file the first time;
//     once the file exists (it follows every keyring change), the file wins.
//   - encrypt_verify_incoming, encrypt_verify_outgoing (default true): false
//     accepts, respectively sends, unencrypted gossip, for moving a running
//     cluster to encryption one step at a time.
//   - disable_keyring_file (-disable-keyring-file; on in -dev): the keyring
//     lives in memory only and every start begins again from encrypt.

// validateEncrypt refuses an encrypt key gossip could not use, with
// Consul's message; the size check Consul makes when the agent starts is
// made here, so that `herald validate` catches it too.
func (c *Config) validateEncrypt() error {
	if c.Encrypt == "" {
		return nil
	}
	if _, err := membership.DecodeKey(c.Encrypt); err != nil {
		return fmt.Errorf("encrypt has invalid key: %v", err)
	}
	return nil
}
