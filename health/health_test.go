package health

import (
	"errors"
	"testing"

	"github.com/heraldhq/herald/event"
)

func chk(id, serviceID, status string) *event.Check {
	return &event.Check{Node: "n1", CheckID: id, ServiceID: serviceID, Status: status}
}

func TestMaintCheckIDs(t *testing.T) {
	if got := ServiceMaintCheckID("web-1"); got != "_service_maintenance:web-1" {
		t.Fatalf("ServiceMaintCheckID = %q", got)
	}
	for _, tc := range []struct {
		id            string
		maint, forSvc bool
	}{
		{"_node_maintenance", true, false},
		{"_service_maintenance:web-1", true, true},
		{ServiceMaintCheckID(""), true, true},
		{"serfHealth", false, false},
		{"_node_maintenance2", false, false},
		{"service:_service_maintenance:x", false, false},
		{"", false, false},
	} {
		if got := IsMaintCheck(tc.id); got != tc.maint {
			t.Errorf("IsMaintCheck(%q) = %v, want %v", tc.id, got, tc.maint)
		}
		if got := IsServiceMaintCheck(tc.id); got != tc.forSvc {
			t.Errorf("IsServiceMaintCheck(%q) = %v, want %v", tc.id, got, tc.forSvc)
		}
	}
}

// statusCase is a row of the tables that fold a set of checks into one status.
type statusCase struct {
	name   string
	checks []*event.Check
	want   string
}

// checkStatuses runs fold, which is called name in the messages, over cases.
func checkStatuses(t *testing.T, name string, fold func([]*event.Check) string, cases []statusCase) {
	t.Helper()
	for _, tc := range cases {
		if got := fold(tc.checks); got != tc.want {
			t.Errorf("%s: %s = %q, want %q", tc.name, name, got, tc.want)
		}
	}
}

func TestAggregate(t *testing.T) {
	checkStatuses(t, "Aggregate", Aggregate, []statusCase{
		{"no checks", nil, Passing},
		{"nil entries only", []*event.Check{nil}, Passing},
		{"all passing", []*event.Check{chk("a", "", Passing), chk("b", "s1", Passing)}, Passing},
		{"warning over passing", []*event.Check{chk("a", "", Passing), chk("b", "s1", Warning)}, Warning},
		{"critical over warning", []*event.Check{chk("a", "", Warning), chk("b", "s1", Critical), chk("c", "", Passing)}, Critical},
		{"critical first", []*event.Check{chk("b", "s1", Critical), chk("a", "", Warning)}, Critical},
		{"node maintenance over critical", []*event.Check{chk("a", "", Critical), chk(NodeMaintCheckID, "", Critical)}, Maint},
		{"service maintenance over critical", []*event.Check{chk(ServiceMaintCheckID("s1"), "s1", Critical), chk("a", "", Critical)}, Maint},
		{"maintenance by ID, whatever its status", []*event.Check{chk(NodeMaintCheckID, "", Passing)}, Maint},
		{"maintenance status", []*event.Check{chk("a", "", Maint)}, Maint},
		{"unknown status is critical", []*event.Check{chk("a", "", "sideways"), chk("b", "", Passing)}, Critical},
		{"empty status is critical", []*event.Check{chk("a", "", "")}, Critical},
		{"unknown status over warning", []*event.Check{chk("a", "", Warning), chk("b", "", "sideways")}, Critical},
		{"maintenance over unknown status", []*event.Check{chk("a", "", "sideways"), chk(NodeMaintCheckID, "", Critical)}, Maint},
	})
}

// TestInstance is the table DNS answers and ?passing are decided by.
func TestInstance(t *testing.T) {
	instanceS1 := func(checks []*event.Check) string { return Instance("s1", checks) }
	checkStatuses(t, "Instance", instanceS1, []statusCase{
		{"no checks", nil, Passing},
		{"all passing", []*event.Check{chk("serfHealth", "", Passing), chk("svc", "s1", Passing)}, Passing},
		{"node check warning", []*event.Check{chk("serfHealth", "", Warning), chk("svc", "s1", Passing)}, Warning},
		{"service check warning", []*event.Check{chk("svc", "s1", Warning)}, Warning},
		{"node check critical", []*event.Check{chk("serfHealth", "", Critical)}, Critical},
		{"service check critical after a warning", []*event.Check{chk("a", "", Warning), chk("svc", "s1", Critical)}, Critical},
		{"maintenance status", []*event.Check{chk("svc", "s1", Maint)}, Critical},
		{"node maintenance, even passing", []*event.Check{chk(NodeMaintCheckID, "", Passing)}, Critical},
		{"service maintenance, even warning", []*event.Check{chk(ServiceMaintCheckID("s1"), "s1", Warning)}, Critical},
		{"unknown status", []*event.Check{chk("svc", "s1", "sideways")}, Warning},
		{"empty status", []*event.Check{nil, chk("svc", "", "")}, Warning},
		{"another instance's critical check", []*event.Check{chk("other", "s2", Critical)}, Passing},
		{"another instance's maintenance", []*event.Check{chk(ServiceMaintCheckID("s2"), "s2", Critical)}, Passing},
	})
}

func TestCheckSession(t *testing.T) {
	checks := []*event.Check{
		chk("serfHealth", "", Passing),
		chk("disk", "", Critical),
		chk("load", "", Warning),
		chk("odd", "", "sideways"),
		chk("svc", "s1", Passing),
		chk("svc-down", "s1", Critical),
		chk(NodeMaintCheckID, "", Critical),
		nil,
	}
	for _, tc := range []struct {
		name      string
		sess      event.Session
		nodeKnown bool
		want      error  // nil, or the sentinel
		checkID   string // of the fault
		msg       string // Consul's message
	}{
		{"healthy", event.Session{NodeChecks: []string{"serfHealth"}, ServiceChecks: []event.ServiceCheck{{ID: "svc"}}}, true, nil, "", ""},
		{"no checks at all", event.Session{}, true, nil, "", ""},
		{"warning keeps it", event.Session{NodeChecks: []string{"serfHealth", "load"}}, true, nil, "", ""},
		{"unknown status keeps it", event.Session{NodeChecks: []string{"odd"}}, true, nil, "", ""},
		{"node missing", event.Session{NodeChecks: []string{"serfHealth"}}, false, ErrSessionNode, "", "Missing node registration"},
		{"node missing, no checks", event.Session{}, false, ErrSessionNode, "", "Missing node registration"},
		{"node check critical", event.Session{NodeChecks: []string{"serfHealth", "disk"}}, true, ErrSessionCheckCritical, "disk", "Check 'disk' is in critical state"},
		{"node check missing", event.Session{NodeChecks: []string{"gone"}}, true, ErrSessionCheckMissing, "gone", "Missing check 'gone' registration"},
		{"service check critical", event.Session{ServiceChecks: []event.ServiceCheck{{ID: "svc-down"}}}, true, ErrSessionCheckCritical, "svc-down", "Check 'svc-down' is in critical state"},
		{"service check missing", event.Session{ServiceChecks: []event.ServiceCheck{{ID: "gone"}}}, true, ErrSessionCheckMissing, "gone", "Missing check 'gone' registration"},
		{"maintenance named", event.Session{NodeChecks: []string{NodeMaintCheckID}}, true, ErrSessionCheckCritical, NodeMaintCheckID, "Check '_node_maintenance' is in critical state"},
		{"check IDs are exact", event.Session{NodeChecks: []string{"SerfHealth"}}, true, ErrSessionCheckMissing, "SerfHealth", "Missing check 'SerfHealth' registration"},
		{"first fault wins: node checks first", event.Session{NodeChecks: []string{"gone", "disk"}, ServiceChecks: []event.ServiceCheck{{ID: "svc-down"}}}, true, ErrSessionCheckMissing, "gone", "Missing check 'gone' registration"},
	} {
		err := CheckSession(&tc.sess, tc.nodeKnown, checks)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v, want nil", tc.name, err)
			}
			continue
		}
		var se *SessionError
		if !errors.Is(err, tc.want) || !errors.As(err, &se) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if se.CheckID != tc.checkID || err.Error() != tc.msg {
			t.Errorf("%s: check %q, message %q; want %q, %q", tc.name, se.CheckID, err.Error(), tc.checkID, tc.msg)
		}
	}
}
