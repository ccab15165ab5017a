package checks

import (
	"strings"
	"sync"
	"testing"
)

// fakeAlias is an AliasSource whose answer the test sets.
type fakeAlias struct {
	mu      sync.Mutex
	status  string
	changed chan struct{}
	asked   []string // node/service of each question
}

func newFakeAlias(status string) *fakeAlias {
	return &fakeAlias{status: status, changed: make(chan struct{})}
}

func (f *fakeAlias) Health(node, serviceID string) (string, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, node+"/"+serviceID)
	return f.status, f.changed
}

func (f *fakeAlias) set(status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
	close(f.changed)
	f.changed = make(chan struct{})
}

func TestAliasFollowsSource(t *testing.T) {
	src := newFakeAlias("passing")
	r, rec := newTestRunner(t, Config{Alias: src})
	if err := r.Add(Definition{CheckID: "alias", AliasNode: "n2", AliasService: "web"}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "alias", "passing", slack); out != "All checks passing." {
		t.Errorf("passing output %q", out)
	}
	src.set("warning")
	if out := waitStatus(t, r, "alias", "warning", slack); out != `Aliased service "web" on node "n2" is warning` {
		t.Errorf("warning output %q", out)
	}
	src.set("critical")
	waitStatus(t, r, "alias", "critical", slack)
	src.set("passing")
	waitStatus(t, r, "alias", "passing", slack)
	src.set("") // the service went away
	if out := waitStatus(t, r, "alias", "critical", slack); out != `Aliased service "web" on node "n2" not found` {
		t.Errorf("missing target output %q", out)
	}
	r.Remove("alias")
	if got := strings.Join(rec.statuses("alias"), " "); got != "passing warning critical passing critical" {
		t.Errorf("reported %s", got)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	for _, a := range src.asked {
		if a != "n2/web" {
			t.Errorf("source asked about %q, want n2/web", a)
		}
	}
}

// TestAliasNodeOnly: an alias of a node asks about the node alone, and
// maintenance (or anything unexpected) is critical.
func TestAliasNodeOnly(t *testing.T) {
	src := newFakeAlias("maintenance")
	r, _ := newTestRunner(t, Config{Alias: src})
	if err := r.Add(Definition{CheckID: "alias", AliasNode: "n2", Status: "passing"}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "alias", "critical", slack); out != `Aliased node "n2" is maintenance` {
		t.Errorf("output %q", out)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.asked[0] != "n2/" {
		t.Errorf("source asked about %q, want n2/", src.asked[0])
	}
}
