package membership

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// KeyringFile is where an agent keeps its LAN keyring, relative to its data
// dir: Consul's serf/local.keyring, a JSON list of base64 keys, the primary
// key first. Serf rewrites it on every install, use and remove, so that a
// restarted agent gossips with the keys the cluster rotated to, not with the
// encrypt key it was first started with.
const KeyringFile = "serf/local.keyring"

// DecodeKey decodes a gossip key in `consul keygen` form (standard base64)
// and checks its size. Its errors are base64's and memberlist's own ("key
// size must be 16, 24 or 32 bytes"), which callers prefix as Consul does.
func DecodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// KeyGen returns a new gossip key as `consul keygen` prints it: 32 random
// bytes in standard base64.
func KeyGen() (string, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return "", fmt.Errorf("membership: reading random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// loadKeyring builds the keyring gossip starts with, the way Consul's agent
// does: from cfg.KeyringPath when that file exists (cfg.EncryptKey is then
// only checked against it), else from cfg.EncryptKey, which is first written
// to cfg.KeyringPath when there is one. Nil means no encryption.
func loadKeyring(cfg Config, logger *slog.Logger) (*memberlist.Keyring, error) {
	if cfg.KeyringPath != "" {
		keys, err := readKeyringFile(cfg.KeyringPath)
		switch {
		case err == nil:
			kr, err := memberlist.NewKeyring(keys, keys[0])
			if err != nil {
				return nil, fmt.Errorf("membership: keyring file %s: %w", cfg.KeyringPath, err)
			}
			if cfg.EncryptKey != "" && !hasKey(keys, cfg.EncryptKey) {
				logger.Warn("keyring doesn't include key provided with -encrypt, using keyring", "keyring", "LAN")
			}
			return kr, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	if cfg.EncryptKey == "" {
		return nil, nil
	}
	key, err := DecodeKey(cfg.EncryptKey)
	if err != nil {
		return nil, fmt.Errorf("membership: encrypt has invalid key: %w", err)
	}
	if cfg.KeyringPath != "" {
		if err := writeKeyringFile(cfg.KeyringPath, [][]byte{key}); err != nil {
			return nil, err
		}
	}
	return memberlist.NewKeyring(nil, key)
}

// readKeyringFile reads the keys of a keyring file, primary first. A file
// that does not exist gives an error wrapping fs.ErrNotExist.
func readKeyringFile(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("membership: reading the keyring: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(data, &encoded); err != nil {
		return nil, fmt.Errorf("membership: keyring file %s is not a JSON list of keys: %w", path, err)
	}
	if len(encoded) == 0 {
		return nil, fmt.Errorf("membership: no keys present in keyring: %s", path)
	}
	keys := make([][]byte, len(encoded))
	for i, s := range encoded {
		if keys[i], err = DecodeKey(s); err != nil {
			return nil, fmt.Errorf("membership: keyring file %s: key %d: %w", path, i+1, err)
		}
	}
	return keys, nil
}

// writeKeyringFile creates a keyring file holding keys, in the form Serf
// rewrites it: readable by the agent's user only, since the keys are secret,
// and written whole or not at all.
func writeKeyringFile(path string, keys [][]byte) error {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = base64.StdEncoding.EncodeToString(k)
	}
	data, err := json.MarshalIndent(encoded, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("membership: keyring directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keyring-*")
	if err != nil {
		return fmt.Errorf("membership: writing the keyring: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("membership: writing the keyring: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("membership: writing the keyring: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("membership: writing the keyring: %w", err)
	}
	return nil
}

func hasKey(keys [][]byte, encoded string) bool {
	want, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return false
	}
	for _, k := range keys {
		if bytes.Equal(k, want) {
			return true
		}
	}
	return false
}

// KeyOp is a keyring operation run across the whole pool.
type KeyOp int

const (
	ListKeys KeyOp = iota + 1
	InstallKey
	UseKey
	RemoveKey
)

// KeyringResult is what the members answered to a keyring operation.
type KeyringResult struct {
	// Keys counts, for each installed key, the members that hold it;
	// PrimaryKeys counts the members using each key as their primary.
	// Only a list fills them.
	Keys        map[string]int
	PrimaryKeys map[string]int
	// NumNodes is how many members the pool had when asked.
	NumNodes int
	// Messages holds, by member name, what each member that failed said
	// ("requested key is not in the keyring", ...).
	Messages map[string]string
}

// Keyring runs a keyring operation on every member of the pool through
// Serf's key manager: a query every member answers, after changing its own
// keyring (and keyring file). key is the base64 key for install, use and
// remove. relayFactor (0 to 5) has each member relay its answer through that
// many others, for answers that would otherwise be lost. The error says how
// many members failed or did not answer; the result still holds what the
// others said.
func (m *Membership) Keyring(op KeyOp, key string, relayFactor uint8) (KeyringResult, error) {
	km := m.serf.KeyManager()
	opts := &serf.KeyRequestOptions{RelayFactor: relayFactor}
	var resp *serf.KeyResponse
	var err error
	switch op {
	case ListKeys:
		resp, err = km.ListKeysWithOptions(opts)
	case InstallKey:
		resp, err = km.InstallKeyWithOptions(key, opts)
	case UseKey:
		resp, err = km.UseKeyWithOptions(key, opts)
	case RemoveKey:
		resp, err = km.RemoveKeyWithOptions(key, opts)
	default:
		return KeyringResult{}, fmt.Errorf("membership: unknown keyring operation %d", op)
	}
	out := KeyringResult{Keys: map[string]int{}, PrimaryKeys: map[string]int{}, Messages: map[string]string{}}
	if resp != nil {
		out.NumNodes = resp.NumNodes
		for k, v := range resp.Keys {
			out.Keys[k] = v
		}
		for k, v := range resp.PrimaryKeys {
			out.PrimaryKeys[k] = v
		}
		for k, v := range resp.Messages {
			out.Messages[k] = v
		}
	}
	return out, err
}

// LocalKeys are the keys of this member's own keyring, base64, the primary
// first; none without encryption.
func (m *Membership) LocalKeys() []string {
	if m.keyring == nil {
		return nil
	}
	var out []string
	for _, k := range m.keyring.GetKeys() {
		out = append(out, base64.StdEncoding.EncodeToString(k))
	}
	return out
}

// MaxRelayFactor is the most relays a keyring operation may ask for.
const MaxRelayFactor = 5

// ParseRelayFactor checks a keyring operation's relay factor, for the
// HTTP API's ?relay-factor and the CLI's -relay-factor, with Consul's
// message.
func ParseRelayFactor(n int) (uint8, error) {
	if n < 0 || n > MaxRelayFactor {
		return 0, fmt.Errorf("Relay factor must be in range: [0, %d]", MaxRelayFactor)
	}
	return uint8(n), nil
}

// ValidateLocalOnly refuses local-only on anything but a list, as Consul
// does. Herald has no WAN pool, so a local-only list is any list.
func ValidateLocalOnly(localOnly, list bool) error {
	if localOnly && !list {
		return errors.New("local-only can only be set for list requests")
	}
	return nil
}
