package version

import (
	"testing"
	"time"
)

func TestHuman(t *testing.T) {
	if got := (Info{Version: "0.1.0"}).Human(); got != "0.1.0" {
		t.Errorf("release Human() = %q", got)
	}
	if got := (Info{Version: "0.1.0", Prerelease: "dev"}).Human(); got != "0.1.0-dev" {
		t.Errorf("prerelease Human() = %q", got)
	}
}

// The linker-set values must win over the VCS stamp, and a malformed date
// must not produce a zero time that would print as year 1.
func TestGetPrefersLinkerValues(t *testing.T) {
	oldRev, oldDate := Revision, BuildDate
	t.Cleanup(func() { Revision, BuildDate = oldRev, oldDate })

	Revision, BuildDate = "abc1234", "2026-01-02T03:04:05Z"
	got := Get()
	if got.Version != Version || got.Revision != "abc1234" {
		t.Errorf("Get() = %+v", got)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !got.BuildDate.Equal(want) {
		t.Errorf("BuildDate = %v, want %v", got.BuildDate, want)
	}

	BuildDate = "not a date"
	if got := Get(); got.BuildDate.IsZero() {
		t.Errorf("malformed BuildDate gave a zero time")
	}
}

func TestConstants(t *testing.T) {
	if Version != "0.1.0" || ConsulCompat != "1.20.0" {
		t.Errorf("Version=%q ConsulCompat=%q", Version, ConsulCompat)
	}
}
