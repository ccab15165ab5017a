package bench

import (
	"context"
	"strings"
	"testing"
)

func TestRegisterInstancesAndHealth(t *testing.T) {
	f, addr := newFakeDisco(t)
	c := NewConsulHTTP(addr)
	defer c.Close()
	ctx := context.Background()
	if err := c.RegisterInstances(ctx, "api", 30); err != nil {
		t.Fatal(err)
	}
	entries, passing, index, err := c.HealthService(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if entries != 30 || passing != 30 || index == 0 {
		t.Fatalf("entries %d passing %d index %d, want 30, 30, > 0", entries, passing, index)
	}
	reg := f.instances["api"]["api-7"]
	if reg.Node != "n7" || reg.Address != "127.0.1.7" || reg.Check.CheckID != "api-7" || reg.Check.Status != "passing" {
		t.Errorf("instance 7 registered as %+v", reg)
	}
	if InstanceAddress(300) != "127.0.2.44" {
		t.Errorf("address of 300: %s", InstanceAddress(300))
	}

	if err := c.RegisterInstance(ctx, "api", 3, "warning"); err != nil {
		t.Fatal(err)
	}
	entries, passing, index2, err := c.HealthService(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if entries != 30 || passing != 29 || index2 <= index {
		t.Errorf("after the flip: entries %d passing %d index %d (was %d)", entries, passing, index2, index)
	}
	if n, err := c.CatalogCount(ctx, "api"); err != nil || n != 30 {
		t.Errorf("catalog count %d, %v", n, err)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Error(err)
	}
	f.healthStatus.Store(503)
	if _, _, _, err := c.HealthService(ctx, "api"); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("a 503 read as %v", err)
	}
}

func TestHealthWorkload(t *testing.T) {
	f, addr := newFakeDisco(t)
	c := NewConsulHTTP(addr)
	defer c.Close()
	if err := c.RegisterInstances(context.Background(), "api", 30); err != nil {
		t.Fatal(err)
	}
	w := HealthWorkload(addr, "api", 30, 4, 0)
	w.Count = 200
	res, err := RunWorkload(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 200 || res.Errors != 0 {
		t.Fatalf("ops %d errors %d (%s)", res.Ops, res.Errors, res.FirstError)
	}
	// Entries are counted on every answer.
	w = HealthWorkload(addr, "api", 31, 2, 0)
	w.Count = 10
	res, _ = RunWorkload(context.Background(), w)
	if res.Errors != 10 || !strings.Contains(res.FirstError, "30 entries, want 31") {
		t.Errorf("wrong count: errors %d (%s)", res.Errors, res.FirstError)
	}
	f.healthStatus.Store(503)
	w = HealthWorkload(addr, "api", 30, 1, 0)
	w.Count = 3
	res, _ = RunWorkload(context.Background(), w)
	if res.Errors != 3 || !strings.Contains(res.FirstError, "HTTP 503") {
		t.Errorf("503: errors %d (%s)", res.Errors, res.FirstError)
	}
}

func TestRegisterWorkloadDistinctIDs(t *testing.T) {
	f, addr := newFakeDisco(t)
	for range 2 { // a second run must not reuse the first one's IDs
		w := RegisterWorkload(addr, "reg", 3, 0)
		w.Count = 60
		res, err := RunWorkload(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		if res.Ops != 60 || res.Errors != 0 {
			t.Fatalf("ops %d errors %d (%s)", res.Ops, res.Errors, res.FirstError)
		}
	}
	got := f.agentServices()
	if len(got) != 120 {
		t.Fatalf("%d distinct services registered, want 120", len(got))
	}
	for id, check := range got {
		if !strings.HasPrefix(id, "reg-") || check != id+"-ttl" {
			t.Errorf("service %q with check %q", id, check)
		}
	}

	w := RegisterWorkload("127.0.0.1:1", "reg", 1, 0) // nothing listens
	w.Count = 2
	res, _ := RunWorkload(context.Background(), w)
	if res.Errors != 2 {
		t.Errorf("unreachable agent: %d errors, want 2", res.Errors)
	}
}
