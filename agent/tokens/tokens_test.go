package tokens

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/heraldhq/herald/agent/agenterr"
)

func TestUpdatePersistsAndWinsAtNextStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := New(map[string]string{Default: "conf-default", Agent: "conf-agent"}, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update("acl_agent_master_token", "recovery"); err != nil {
		t.Fatal(err)
	}
	if err := s.Update("default", "api-default"); err != nil {
		t.Fatal(err)
	}
	if err := s.Update("nope", "x"); !errors.Is(err, agenterr.ErrNotFound) || err.Error() != `Token "nope" is unknown` {
		t.Errorf("unknown name: %v", err)
	}
	again, err := New(map[string]string{Default: "conf-default", Agent: "conf-agent"}, path)
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string]string{Default: "api-default", Agent: "conf-agent", AgentRecovery: "recovery"} {
		if got := again.Token(kind); got != want {
			t.Errorf("after restart %s = %q, want %q", kind, got, want)
		}
	}

	unpersisted, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := unpersisted.Update("dns_token", "d"); err != nil || unpersisted.Token(DNS) != "d" {
		t.Errorf("dns token: %v %q", err, unpersisted.Token(DNS))
	}
}
