package checks

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTTLUpdatesAndExpiry(t *testing.T) {
	// Long enough that a loaded machine's pauses between updates (every
	// ttl/6) never reach it.
	const ttl = 2 * time.Second
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "app", TTL: ttl}); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := r.Status("app"); s != "critical" {
		t.Fatalf("new TTL check is %s, want critical", s)
	}
	if err := r.UpdateTTL("app", "passing", "all good"); err != nil {
		t.Fatal(err)
	}
	// UpdateTTL is applied by the time it returns.
	if s, out, _ := r.Status("app"); s != "passing" || out != "all good" {
		t.Fatalf("after pass: %s %q", s, out)
	}
	// Updates more often than the TTL keep it from expiring.
	for range 8 {
		time.Sleep(ttl / 6)
		if err := r.UpdateTTL("app", "passing", "all good"); err != nil {
			t.Fatal(err)
		}
		if s, _, _ := r.Status("app"); s != "passing" {
			t.Fatalf("expired although updated every %v (TTL %v)", ttl/6, ttl)
		}
	}
	if err := r.UpdateTTL("app", "warning", "slow disk"); err != nil {
		t.Fatal(err)
	}
	last := time.Now()
	out := waitStatus(t, r, "app", "critical", ttl+slack)
	if e := time.Since(last); e < ttl {
		t.Errorf("expired %v after the last update, before the TTL of %v", e, ttl)
	}
	if want := "TTL expired (last output before timeout follows): slow disk"; out != want {
		t.Errorf("expired output %q, want %q", out, want)
	}
	if err := r.UpdateTTL("app", "passing", ""); err != nil {
		t.Fatal(err)
	}
	r.Remove("app")
	if got := strings.Join(rec.statuses("app"), " "); got != "passing warning critical passing" {
		t.Errorf("reported %s", got)
	}
}

// TestTTLExpiresWithoutUpdates: a check nobody ever updates says so once
// its first TTL has passed.
func TestTTLExpiresWithoutUpdates(t *testing.T) {
	r, _ := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "app", TTL: 50 * time.Millisecond, Status: "passing"}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "app", "critical", 50*time.Millisecond+slack); out != "TTL expired" {
		t.Errorf("output %q, want TTL expired", out)
	}
}

func TestUpdateTTLErrors(t *testing.T) {
	r, _ := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "tcp", TCP: freeAddr(t), Interval: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(Definition{CheckID: "app", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"nope": `CheckID "nope" does not have associated TTL`,
		"tcp":  `CheckID "tcp" does not have associated TTL`,
	} {
		err := r.UpdateTTL(id, "passing", "")
		if err == nil || err.Error() != want || !errors.Is(err, ErrNotTTL) {
			t.Errorf("UpdateTTL(%s): %v, want %q matching ErrNotTTL", id, err, want)
		}
	}
	if err := r.UpdateTTL("app", "maintenance", ""); err == nil || !strings.Contains(err.Error(), "Invalid check status") {
		t.Errorf("bad status: %v", err)
	}
	if s, _, _ := r.Status("app"); s != "critical" {
		t.Errorf("a rejected update changed the check to %s", s)
	}
}

func TestUpdateTTLOutputCapped(t *testing.T) {
	r, _ := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "app", TTL: time.Hour, OutputMaxSize: 10}); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateTTL("app", "passing", strings.Repeat("é", 20)); err != nil { // 40 bytes
		t.Fatal(err)
	}
	_, out, _ := r.Status("app")
	if want := strings.Repeat("é", 5) + " ... (captured 10 of 40 bytes)"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}
