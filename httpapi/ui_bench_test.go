package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// bigCatalog is services×instances service instances spread over 1,000
// nodes, each instance with a check, and a node check on every node.
func bigCatalog(services, instances int) *projections.Catalog {
	c := projections.NewCatalog()
	var evs []event.Event
	const nodes = 1000
	for n := range nodes {
		name := fmt.Sprintf("node-%04d", n)
		evs = append(evs,
			event.Event{Type: event.NodeUpdated, Node: &event.Node{Node: name, Address: fmt.Sprintf("10.0.%d.%d", n/256, n%256)}},
			event.Event{Type: event.CheckUpdated, Check: &event.Check{Node: name, CheckID: "serfHealth", Status: event.HealthPassing}})
	}
	for s := range services {
		for i := range instances {
			node := fmt.Sprintf("node-%04d", (s*instances+i)%nodes)
			id := fmt.Sprintf("svc-%05d-%d", s, i)
			name := fmt.Sprintf("svc-%05d", s)
			evs = append(evs,
				event.Event{Type: event.ServiceUpdated, Service: &event.Service{Node: node, ID: id, Service: name, Tags: []string{"v1", "primary"}, Port: 8000 + i}},
				event.Event{Type: event.CheckUpdated, Check: &event.Check{Node: node, CheckID: "check-" + id, ServiceID: id, ServiceName: name, Status: event.HealthPassing}})
		}
	}
	c.Apply(1, evs)
	return c
}

// BenchmarkUIServices is the summary of 5,000 services × 3 instances as
// /v1/internal/ui/services builds and encodes it, with one check changing
// status between two answers (as on a live cluster).
func BenchmarkUIServices(b *testing.B) {
	c := bigCatalog(5000, 3)
	var cache summaryCache
	cache.serviceSummaries(c, "dc1", nil)                         // the first answer after a start builds every summary
	status := []string{event.HealthCritical, event.HealthPassing} // by index parity: the first change fails the check
	index := uint64(1)
	for b.Loop() {
		index++
		c.Apply(index, []event.Event{{Type: event.CheckUpdated, Check: &event.Check{Node: "node-0000",
			CheckID: "check-svc-00000-0", ServiceID: "svc-00000-0", ServiceName: "svc-00000", Status: status[index%2]}}})
		list, _, err := cache.summariesJSON(c, "dc1", nil)
		if err != nil {
			b.Fatal(err)
		}
		// As writeCachedJSON encodes it.
		if err := json.NewEncoder(io.Discard).Encode(list); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUIServicesTopic is the services topic's read of 5,000 services
// × 3 instances, one check changing between two reads, and its diff.
func BenchmarkUIServicesTopic(b *testing.B) {
	s := &Server{cfg: Config{Catalog: bigCatalog(5000, 3), Datacenter: "dc1"}}
	status := []string{event.HealthCritical, event.HealthPassing} // by index parity: the first change fails the check
	index := uint64(1)
	sent, _, _, _ := s.servicesTopic(nil, false)
	for b.Loop() {
		index++
		s.cfg.Catalog.Apply(index, []event.Event{{Type: event.CheckUpdated, Check: &event.Check{Node: "node-0000",
			CheckID: "check-svc-00000-0", ServiceID: "svc-00000-0", ServiceName: "svc-00000", Status: status[index%2]}}})
		rows, _, _, err := s.servicesTopic(nil, false)
		if err != nil {
			b.Fatal(err)
		}
		if msg, changed := diffRows(sent, rows, index, false); !changed || len(msg.Upsert) != 1 {
			b.Fatalf("diff: %d upserts", len(msg.Upsert))
		}
		sent = rows
	}
}
