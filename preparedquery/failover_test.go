package preparedquery

import (
	"slices"
	"testing"

	"github.com/heraldhq/herald/event"
)

func TestFailoverTargets(t *testing.T) {
	known := []string{"dc1", "dc3", "dc2", "dc4"} // nearest first, dc1 local
	for _, tc := range []struct {
		failover event.QueryFailoverOptions
		want     []string
	}{
		{event.QueryFailoverOptions{}, nil},
		{event.QueryFailoverOptions{NearestN: 2}, []string{"dc3", "dc2"}},
		{event.QueryFailoverOptions{NearestN: 9}, []string{"dc3", "dc2", "dc4"}},
		// Listed ones after the nearest, each once, unknown ones and the
		// local one left out.
		{event.QueryFailoverOptions{NearestN: 1, Datacenters: []string{"dc4", "dc3", "dc9", "dc1"}}, []string{"dc3", "dc4"}},
		{event.QueryFailoverOptions{Datacenters: []string{"dc2", "dc3"}}, []string{"dc2", "dc3"}},
		{event.QueryFailoverOptions{Targets: []event.QueryFailoverTarget{{Peer: "p"}, {Datacenter: "dc4"}}}, []string{"dc4"}},
	} {
		q := &event.PreparedQuery{Service: event.ServiceQuery{Failover: tc.failover}}
		if got := FailoverTargets(q, "dc1", known); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.failover, got, tc.want)
		}
		if HasFailover(q) != (len(tc.want) > 0) {
			t.Errorf("%+v: HasFailover %v", tc.failover, HasFailover(q))
		}
	}
}
