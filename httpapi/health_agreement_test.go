package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/dnsserver"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
)

// TestDNSAndPassingAgree registers one instance of "web" per health state
// and asks, in process, both /v1/health/service/web?passing and the DNS
// server (with and without only_passing) which instances they serve. DNS
// with only_passing and ?passing must give the same set, and DNS without
// it must leave out exactly the critical and maintenance ones.
func TestDNSAndPassingAgree(t *testing.T) {
	cases := []struct {
		name    string
		checks  func(node, serviceID string) []*event.Check
		passing bool // in ?passing, and in DNS with only_passing
		dns     bool // in DNS without only_passing
	}{
		{"passing", serviceCheck(health.Passing), true, true},
		{"warning", serviceCheck(health.Warning), false, true},
		{"critical", serviceCheck(health.Critical), false, false},
		{"node-maintenance", func(node, id string) []*event.Check {
			return append(serviceCheck(health.Passing)(node, id),
				&event.Check{Node: node, CheckID: health.NodeMaintCheckID, Status: health.Critical, Type: "maintenance"})
		}, false, false},
		{"service-maintenance", func(node, id string) []*event.Check {
			return append(serviceCheck(health.Passing)(node, id),
				&event.Check{Node: node, CheckID: health.ServiceMaintCheckID(id), ServiceID: id, Status: health.Critical, Type: "maintenance"})
		}, false, false},
		{"unknown-status", serviceCheck("sideways"), false, true},
	}

	cat := projections.NewCatalog()
	var evs []event.Event
	addrCase := map[string]string{} // DNS answers name instances by address
	for i, tc := range cases {
		node, id, addr := "n-"+tc.name, "web-"+tc.name, fmt.Sprintf("10.0.0.%d", i+1)
		addrCase[addr] = tc.name
		evs = append(evs,
			event.Event{Type: event.NodeUpdated, Node: &event.Node{Node: node, Address: addr, Datacenter: "dc1"}},
			event.Event{Type: event.ServiceUpdated, Service: &event.Service{Node: node, ID: id, Service: "web", Port: 80}})
		for _, c := range tc.checks(node, id) {
			evs = append(evs, event.Event{Type: event.CheckUpdated, Check: c})
		}
	}
	cat.Apply(1, evs)

	api := httpapi.New(httpapi.Config{Datacenter: "dc1", Catalog: cat, Raft: leaderRaft{},
		Logger: slog.New(slog.DiscardHandler)})
	httpPassing := map[string]bool{}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/health/service/web?passing", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("?passing: %d %s", rec.Code, rec.Body)
	}
	var entries []struct{ Service struct{ ID string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &entries); err != nil {
		t.Fatalf("?passing: %v in %s", err, rec.Body)
	}
	for _, e := range entries {
		httpPassing[e.Service.ID[len("web-"):]] = true
	}

	dnsAnswers := func(onlyPassing bool) map[string]bool {
		cfg := dnsserver.DefaultConfig()
		cfg.OnlyPassing = onlyPassing
		cfg.Catalog = dnsserver.FromProjection(cat)
		cfg.Logger = slog.New(slog.DiscardHandler)
		s, err := dnsserver.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		req := new(dns.Msg)
		req.SetQuestion("web.service.consul.", dns.TypeA)
		got := map[string]bool{}
		for _, rr := range s.Answer(req, true).Answer {
			a, ok := rr.(*dns.A)
			if !ok || addrCase[a.A.String()] == "" {
				t.Fatalf("unexpected answer %v", rr)
			}
			got[addrCase[a.A.String()]] = true
		}
		return got
	}
	dnsPassing, dnsDefault := dnsAnswers(true), dnsAnswers(false)

	for _, tc := range cases {
		if httpPassing[tc.name] != dnsPassing[tc.name] {
			t.Errorf("%s: in ?passing %v, in DNS with only_passing %v: they disagree", tc.name, httpPassing[tc.name], dnsPassing[tc.name])
		}
		if httpPassing[tc.name] != tc.passing {
			t.Errorf("%s: in ?passing %v, want %v", tc.name, httpPassing[tc.name], tc.passing)
		}
		if dnsDefault[tc.name] != tc.dns {
			t.Errorf("%s: in DNS %v, want %v", tc.name, dnsDefault[tc.name], tc.dns)
		}
	}
	if len(entries) != len(httpPassing) {
		t.Errorf("?passing listed an instance twice: %s", rec.Body)
	}
}

// serviceCheck gives the instance one check of its own with the status.
func serviceCheck(status string) func(node, serviceID string) []*event.Check {
	return func(node, id string) []*event.Check {
		return []*event.Check{{Node: node, CheckID: "service:" + id, ServiceID: id, ServiceName: "web", Status: status}}
	}
}

// leaderRaft is a command log that only knows it has a leader: enough for
// the API's reads, which never go through Raft unless asked to.
type leaderRaft struct{ httpapi.Raft }

func (leaderRaft) Leader(command.Shard) (uint64, bool) { return 1, true }
