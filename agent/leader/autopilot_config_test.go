package leader

import (
	"errors"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/event"
)

// Autopilot follows the config file until a configuration is written
// through the API, and the written one afterwards; the cleanup delay,
// which Consul's configuration lacks, stays the file's.
func TestAutopilotSettingsPreferTheWrittenConfiguration(t *testing.T) {
	file := config.Autopilot{CleanupDeadServers: true, DeadServerCleanupAfter: time.Minute, MinQuorum: 1}
	var stored *event.AutopilotConfig
	var readErr error
	p := &Autopilot{Config: file, Stored: func() (*event.AutopilotConfig, error) { return stored, readErr }}
	if got := p.settings(); got != file {
		t.Fatalf("nothing written: %+v", got)
	}
	stored = &event.AutopilotConfig{CleanupDeadServers: false, MinQuorum: 3}
	want := config.Autopilot{CleanupDeadServers: false, DeadServerCleanupAfter: time.Minute, MinQuorum: 3}
	if got := p.settings(); got != want {
		t.Fatalf("written: %+v, want %+v", got, want)
	}
	readErr = errors.New("closed")
	if got := p.settings(); got != file {
		t.Fatalf("unreadable: %+v", got)
	}
	if def := AutopilotFromFile(file); !def.CleanupDeadServers || def.MinQuorum != 1 || def.MaxTrailingLogs != 250 ||
		def.ModifyIndex != 0 {
		t.Fatalf("from the file: %+v", def)
	}
}
