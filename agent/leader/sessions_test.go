package leader

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// catalogWith returns a catalog holding node n1 with the given checks.
func catalogWith(t *testing.T, checks map[string]string) *projections.Catalog {
	t.Helper()
	c := projections.NewCatalog()
	evs := []event.Event{{Type: event.NodeUpdated, Node: &event.Node{Node: "n1", Address: "10.0.0.1"}}}
	for id, status := range checks {
		evs = append(evs, event.Event{Type: event.CheckUpdated, Check: &event.Check{Node: "n1", CheckID: id, Status: status}})
	}
	c.Apply(1, evs)
	return c
}

func TestSessionInvalidationRules(t *testing.T) {
	now := time.Unix(10000, 0)
	longAgo := now.Add(-time.Hour)
	r := &SessionReaper{Catalog: catalogWith(t, map[string]string{"serfHealth": "passing", "disk": "critical"})}
	cases := []struct {
		name        string
		s           event.Session
		leaderSince time.Time
		want        string
	}{
		{"healthy, no TTL", event.Session{Node: "n1", NodeChecks: []string{"serfHealth"}}, longAgo, ""},
		{"TTL not yet expired", event.Session{Node: "n1", TTL: "10s", Deadline: now.Add(time.Second).UnixNano()}, longAgo, ""},
		{"TTL expired", event.Session{Node: "n1", TTL: "10s", Deadline: now.Add(-time.Second).UnixNano()}, longAgo, "TTL expired"},
		{"new leader's grace", event.Session{Node: "n1", TTL: "10s", Deadline: now.Add(-time.Second).UnixNano()}, now.Add(-5 * time.Second), ""},
		{"grace over", event.Session{Node: "n1", TTL: "10s", Deadline: now.Add(-time.Second).UnixNano()}, now.Add(-21 * time.Second), "TTL expired"},
		{"critical check", event.Session{Node: "n1", NodeChecks: []string{"serfHealth", "disk"}}, longAgo, "check disk critical"},
		{"missing check", event.Session{Node: "n1", ServiceChecks: []event.ServiceCheck{{ID: "gone"}}}, longAgo, "check gone deregistered"},
		{"missing node", event.Session{Node: "n2"}, longAgo, "node deregistered"},
	}
	for _, c := range cases {
		if got := r.invalid(&c.s, now, c.leaderSince); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
