package projections_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// TestInstanceChecksFollowChanges: an instance carries its node's own
// checks and its service's, and no other service's, through a check
// moved from one service to another (both answers change), a check
// removed, a service ID in another case than its checks name it, and the
// node removed.
func TestInstanceChecksFollowChanges(t *testing.T) {
	c := projections.NewCatalog()
	index := uint64(0)
	apply := func(evs ...event.Event) {
		index++
		for i := range evs {
			evs[i].Index = index
		}
		c.Apply(index, evs)
	}
	check := func(id, serviceID, serviceName string) event.Event {
		return event.Event{Type: event.CheckUpdated, Check: &event.Check{Node: "n1", CheckID: id,
			ServiceID: serviceID, ServiceName: serviceName, Status: event.HealthPassing}}
	}
	checksOf := func(service string) string {
		t.Helper()
		list, _, _ := c.ServiceInstances(service, false)
		var out []string
		for _, inst := range list {
			var ids []string
			for _, ch := range inst.Checks {
				ids = append(ids, ch.CheckID)
			}
			slices.Sort(ids)
			out = append(out, inst.Service.ID+":"+strings.Join(ids, ","))
		}
		return strings.Join(out, " ")
	}
	want := func(service, checks string) {
		t.Helper()
		if got := checksOf(service); got != checks {
			t.Errorf("%s: instances and checks %q, want %q", service, got, checks)
		}
	}

	apply(event.Event{Type: event.NodeUpdated, Node: &event.Node{Node: "n1", Address: "10.0.0.1"}})
	apply(event.Event{Type: event.ServiceUpdated, Service: &event.Service{Node: "n1", ID: "Web-1", Service: "web"}},
		event.Event{Type: event.ServiceUpdated, Service: &event.Service{Node: "n1", ID: "api-1", Service: "api"}})
	apply(check("serfHealth", "", ""), check("web-check", "web-1", "web"), check("api-check", "api-1", "api"),
		check("moving", "api-1", "api"))
	want("web", "Web-1:serfHealth,web-check")
	want("api", "api-1:api-check,moving,serfHealth")

	apply(check("moving", "Web-1", "web"))
	want("web", "Web-1:moving,serfHealth,web-check")
	want("api", "api-1:api-check,serfHealth")
	if list, _, _ := c.ServiceChecks("api", false); len(list) != 1 || list[0].CheckID != "api-check" {
		t.Errorf("api's service checks after the move: %v", list)
	}

	apply(event.Event{Type: event.CheckDeleted, Check: &event.Check{Node: "n1", CheckID: "web-check", ServiceID: "web-1", ServiceName: "web"}})
	want("web", "Web-1:moving,serfHealth")

	apply(event.Event{Type: event.NodeDeleted, Node: &event.Node{Node: "n1"}})
	apply(event.Event{Type: event.NodeUpdated, Node: &event.Node{Node: "n1", Address: "10.0.0.1"}},
		event.Event{Type: event.ServiceUpdated, Service: &event.Service{Node: "n1", ID: "web-1", Service: "web"}})
	want("web", "web-1:")
	if list, _, _ := c.ServiceChecks("web", false); len(list) != 0 {
		t.Errorf("web's service checks after its node was removed and registered again: %v", list)
	}
}
