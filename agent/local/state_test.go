package local

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/log/command"
)

// recordingWriter keeps the catalog commands a sync pass sends.
type recordingWriter struct {
	mu   sync.Mutex
	sent []command.Body
}

func (w *recordingWriter) ApplyCatalog(_ context.Context, body command.Body) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent = append(w.sent, body)
	return nil
}

// deregistered lists the service and check IDs the sent commands removed.
func (w *recordingWriter) deregistered() (services, checks []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.sent {
		if d, ok := b.(*command.CatalogDeregisterBody); ok {
			if d.ServiceID != "" {
				services = append(services, d.ServiceID)
			}
			if d.CheckID != "" {
				checks = append(checks, d.CheckID)
			}
		}
	}
	return services, checks
}

// TestRemovingAServiceTakesItsChecksOnly: removing a service removes its
// checks and no other's, and a sync deregisters exactly those; a service
// registered again with ?replace-existing-checks loses the checks its new
// definition lacks; the per-service index behind it is empty once they
// are gone.
func TestRemovingAServiceTakesItsChecksOnly(t *testing.T) {
	w := &recordingWriter{}
	s := New(Config{NodeName: "n1", Writer: w})
	defer s.Stop()
	ttl := func(id, service string) CheckDefinition {
		return CheckDefinition{ID: id, Name: id, ServiceID: service, TTL: Duration(time.Hour)}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddService(ServiceDefinition{ID: "web", Name: "web", Checks: []CheckDefinition{ttl("web-a", ""), ttl("web-b", "")}}, SourceAPI, false))
	must(s.AddService(ServiceDefinition{ID: "api", Name: "api", Check: &CheckDefinition{ID: "api-a", Name: "api-a", TTL: Duration(time.Hour)}}, SourceAPI, false))
	must(s.AddCheck(ttl("node-a", ""), SourceAPI))
	ctx := context.Background()
	must(s.Sync(ctx))
	ids := func() []string {
		var out []string
		for id := range s.Checks() {
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	if got := ids(); !slices.Equal(got, []string{"api-a", "node-a", "web-a", "web-b"}) {
		t.Fatalf("checks after registering: %v", got)
	}

	must(s.RemoveService("web"))
	if got := ids(); !slices.Equal(got, []string{"api-a", "node-a"}) {
		t.Errorf("checks after removing web: %v", got)
	}
	must(s.Sync(ctx))
	services, checks := w.deregistered()
	slices.Sort(checks)
	if !slices.Equal(services, []string{"web"}) || !slices.Equal(checks, []string{"web-a", "web-b"}) {
		t.Errorf("deregistered services %v and checks %v, want [web] and [web-a web-b]", services, checks)
	}

	must(s.AddService(ServiceDefinition{ID: "api", Name: "api"}, SourceAPI, true))
	if got := ids(); !slices.Equal(got, []string{"node-a"}) {
		t.Errorf("checks after api registered again with replace-existing-checks and none: %v", got)
	}
	must(s.Sync(ctx))
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.checksOf["web"]) != 0 || len(s.checksOf["api"]) != 0 || len(s.checksOf[""]) != 1 {
		t.Errorf("checks by service after the syncs: %v", s.checksOf)
	}
}
