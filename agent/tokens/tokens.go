package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/heraldhq/herald/agent/agenterr"
)

// The kinds of token, by Consul's current names.
const (
	Default                       = "default"
	Agent                         = "agent"
	AgentRecovery                 = "agent_recovery"
	Replication                   = "replication"
	ConfigFileServiceRegistration = "config_file_service_registration"
	DNS                           = "dns"
)

// kinds maps every name /v1/agent/token/:type takes, the older ones too,
// to its kind.
var kinds = map[string]string{
	"default": Default, "acl_token": Default,
	"agent": Agent, "acl_agent_token": Agent,
	"agent_recovery": AgentRecovery, "agent_master": AgentRecovery, "acl_agent_master_token": AgentRecovery,
	"replication": Replication, "acl_replication_token": Replication,
	"config_file_service_registration": ConfigFileServiceRegistration,
	"dns":                              DNS, "dns_token": DNS,
}

// FileName is the file in the data dir that persisted tokens live in.
const FileName = "acl-tokens.json"

// Store holds the tokens; it is safe for concurrent use.
type Store struct {
	mu sync.Mutex
	// tokens are the tokens in use; fromAPI those set through the API,
	// the only ones persisted, as in Consul.
	tokens, fromAPI map[string]string
	path            string // "" when tokens are not persisted
}

// New returns a store with the configured tokens; with a persistence path,
// the tokens saved there replace them.
func New(configured map[string]string, persistPath string) (*Store, error) {
	s := &Store{tokens: map[string]string{}, fromAPI: map[string]string{}, path: persistPath}
	for k, v := range configured {
		s.tokens[k] = v
	}
	if persistPath == "" {
		return s, nil
	}
	b, err := os.ReadFile(persistPath)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read persisted ACL tokens: %w", err)
	}
	var saved map[string]string
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, fmt.Errorf("read persisted ACL tokens from %s: %w", persistPath, err)
	}
	for name, v := range saved {
		if kind, ok := kinds[name]; ok && v != "" {
			s.tokens[kind], s.fromAPI[kind] = v, v
		}
	}
	return s, nil
}

// Token returns the token of a kind, "" when there is none.
func (s *Store) Token(kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[kind]
}

// Update sets the token that name (a kind, or an older name of one) stands
// for and persists the tokens set so far when the store does. An unknown
// name is an agenterr.ErrNotFound with Consul's message.
func (s *Store) Update(name, secret string) error {
	kind, ok := kinds[name]
	if !ok {
		return agenterr.Mark(agenterr.ErrNotFound, fmt.Errorf("Token %q is unknown", name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[kind], s.fromAPI[kind] = secret, secret
	if s.path == "" {
		return nil
	}
	return s.persist()
}

// persist writes the API's tokens atomically; the caller holds mu.
func (s *Store) persist() error {
	b, err := json.Marshal(s.fromAPI)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), FileName+".tmp*")
	if err != nil {
		return fmt.Errorf("persist ACL tokens: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("persist ACL tokens: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("persist ACL tokens: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("persist ACL tokens: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("persist ACL tokens: %w", err)
	}
	return nil
}
