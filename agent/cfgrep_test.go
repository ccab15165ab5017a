package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// configStats is the config_entry_replication section of /v1/agent/self's
// Stats.
func configStats(t *testing.T, c *api.Client) map[string]any {
	t.Helper()
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	return self["Stats"]["config_entry_replication"].(map[string]any)
}

// waitEntry polls dc's client until the entry of kind and name satisfies
// ok (nil: it does not exist), and returns it.
func waitEntry(t *testing.T, c *api.Client, what, kind, name string, ok func(api.ConfigEntry) bool) api.ConfigEntry {
	t.Helper()
	var got api.ConfigEntry
	poll.Eventually(t, 30*time.Second, what, func() (bool, string) {
		e, _, err := c.ConfigEntries().Get(kind, name, nil)
		if err != nil && !strings.Contains(err.Error(), "404") {
			return false, err.Error()
		}
		got = e
		return ok(e), fmt.Sprintf("%+v %v", e, err)
	})
	return got
}

func protocolIs(p string) func(api.ConfigEntry) bool {
	return func(e api.ConfigEntry) bool {
		sd, ok := e.(*api.ServiceConfigEntry)
		return ok && sd.Protocol == p
	}
}

func absent(e api.ConfigEntry) bool { return e == nil }

// Two one-server datacenters, dc1 the primary, no ACLs: entries written in
// dc1 (a service-defaults, a proxy-defaults, service-intentions) appear in
// dc2 with their intentions enforced there; updates and deletions follow;
// a write and a delete sent to dc2 land in dc1 and come back; dc2's own
// bootstrap entries are left out; the status is in /v1/agent/self. dc2's
// server then restarts on its data: replication resumes from the recorded
// index, and the entries that did not change keep their ModifyIndex.
func TestConfigReplication(t *testing.T) {
	a1, c1 := startDC(t, "dc1", "-hcl", `primary_datacenter = "dc1"`)
	dir2 := t.TempDir()
	hcl2 := `primary_datacenter = "dc1"
config_entries {
  bootstrap {
    kind = "service-defaults"
    name = "dc2-only"
    protocol = "http"
  }
}`
	// The same Raft and NATS ports across the restart below.
	ports := []string{fmt.Sprintf("-server-port=%d", agenttest.FreePort(t)), fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t))}
	a2, c2 := startDC(t, "dc2", append([]string{"-data-dir=" + dir2, "-hcl", hcl2}, ports...)...)
	ce1, ce2 := c1.ConfigEntries(), c2.ConfigEntries()

	// Written before the datacenters are federated: the first round
	// brings it.
	if _, _, err := ce1.Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "http"}, nil); err != nil {
		t.Fatal(err)
	}
	federate(t, a2, c1, c2, "")
	waitEntry(t, c2, "dc1's web service-defaults in dc2", api.ServiceDefaults, "web", protocolIs("http"))

	if _, _, err := ce1.Set(&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: api.ProxyConfigGlobal,
		Config: map[string]any{"protocol": "http"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ce1.Set(&api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: "web",
		Sources: []*api.SourceIntention{{Name: "api", Action: api.IntentionActionAllow}, {Name: "*", Action: api.IntentionActionDeny}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ce1.Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "grpc"}, nil); err != nil {
		t.Fatal(err)
	}
	waitEntry(t, c2, "the update of web in dc2", api.ServiceDefaults, "web", protocolIs("grpc"))
	waitEntry(t, c2, "dc1's proxy-defaults in dc2", api.ProxyDefaults, api.ProxyConfigGlobal, func(e api.ConfigEntry) bool {
		p, ok := e.(*api.ProxyConfigEntry)
		return ok && p.Config["protocol"] == "http"
	})
	poll.Eventually(t, 30*time.Second, "dc1's intentions enforced in dc2", func() (bool, string) {
		ixns, _, err := c2.Connect().Intentions(nil)
		if err != nil || len(ixns) != 2 {
			return false, fmt.Sprint(ixns, err)
		}
		allowed, _, err := c2.Connect().IntentionCheck(&api.IntentionCheck{Source: "api", Destination: "web"}, nil)
		if err != nil || !allowed {
			return false, fmt.Sprint("api -> web: ", allowed, err)
		}
		allowed, _, err = c2.Connect().IntentionCheck(&api.IntentionCheck{Source: "other", Destination: "web"}, nil)
		return err == nil && !allowed, fmt.Sprint("other -> web: ", allowed, err)
	})
	if e, _, err := ce2.Get(api.ServiceDefaults, "dc2-only", nil); err == nil {
		t.Errorf("dc2's bootstrap entry was written in a secondary: %+v", e)
	}

	// A write sent to dc2 is the primary's: it lands in dc1 at once, and
	// comes back to dc2.
	if ok, _, err := ce2.Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "from-dc2", Protocol: "tcp"}, nil); err != nil || !ok {
		t.Fatalf("a write sent to dc2: %v %v", ok, err)
	}
	if e, _, err := ce1.Get(api.ServiceDefaults, "from-dc2", nil); err != nil || !protocolIs("tcp")(e) {
		t.Fatalf("the write sent to dc2, read in dc1: %+v %v", e, err)
	}
	waitEntry(t, c2, "the write sent to dc2 back in dc2", api.ServiceDefaults, "from-dc2", protocolIs("tcp"))
	// One that names dc2 (?dc=dc2, here through dc1's agent) is sent to
	// dc1 as dc1's, not back to dc2.
	if _, _, err := ce1.Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "via-dc2", Protocol: "tcp"},
		&api.WriteOptions{Datacenter: "dc2"}); err != nil {
		t.Fatalf("a write for dc2: %v", err)
	}
	waitEntry(t, c2, "the write for dc2 in dc2", api.ServiceDefaults, "via-dc2", protocolIs("tcp"))
	// A CAS write sent to dc2 compares with the primary's index.
	fromDC2, _, err := ce1.Get(api.ServiceDefaults, "from-dc2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := ce2.CAS(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "from-dc2", Protocol: "http"},
		fromDC2.GetModifyIndex()+1000, nil); err != nil || ok {
		t.Fatalf("a CAS write with a wrong index sent to dc2: %v %v, want false", ok, err)
	}
	// An intention written through dc2's legacy API goes to dc1 too.
	if _, err := c2.Connect().IntentionUpsert(&api.Intention{SourceName: "api", DestinationName: "db", Action: api.IntentionActionAllow}, nil); err != nil {
		t.Fatalf("an intention written in dc2: %v", err)
	}
	if e, _, err := ce1.Get(api.ServiceIntentions, "db", nil); err != nil || e == nil {
		t.Fatalf("the intention written in dc2, read in dc1: %+v %v", e, err)
	}
	// A delete sent to dc2 likewise.
	if _, err := ce2.Delete(api.ServiceDefaults, "from-dc2", nil); err != nil {
		t.Fatalf("a delete sent to dc2: %v", err)
	}
	if e, _, err := ce1.Get(api.ServiceDefaults, "from-dc2", nil); err == nil {
		t.Fatalf("the entry deleted through dc2 is still in dc1: %+v", e)
	}
	waitEntry(t, c2, "the delete sent to dc2 back in dc2", api.ServiceDefaults, "from-dc2", absent)
	waitEntry(t, c2, "the intention written through dc2 back in dc2", api.ServiceIntentions, "db", func(e api.ConfigEntry) bool { return e != nil })

	// A delete in dc1 replicates.
	if _, _, err := ce1.Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "gone", Protocol: "http"}, nil); err != nil {
		t.Fatal(err)
	}
	waitEntry(t, c2, "gone in dc2", api.ServiceDefaults, "gone", protocolIs("http"))
	if _, err := ce1.Delete(api.ServiceDefaults, "gone", nil); err != nil {
		t.Fatal(err)
	}
	waitEntry(t, c2, "gone deleted in dc2", api.ServiceDefaults, "gone", absent)

	// The status: replicated up to the primary's index.
	var stats map[string]any
	poll.Eventually(t, 30*time.Second, "the status at dc1's config entry index", func() (bool, string) {
		_, meta, err := ce1.List(api.ServiceDefaults, nil)
		if err != nil {
			return false, err.Error()
		}
		stats = configStats(t, c2)
		return stats["replicated_index"] == fmt.Sprint(meta.LastIndex) && stats["running"] == "true" &&
			stats["source_datacenter"] == "dc1" && stats["last_success"] != "", fmt.Sprint(stats, " want index ", meta.LastIndex)
	})

	// dc2's server restarts on its data.
	before := map[string]uint64{}
	for _, k := range [][2]string{{api.ServiceDefaults, "web"}, {api.ProxyDefaults, api.ProxyConfigGlobal}, {api.ServiceIntentions, "web"}, {api.ServiceIntentions, "db"}} {
		e, _, err := ce2.Get(k[0], k[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		before[k[0]+"/"+k[1]] = e.GetModifyIndex()
	}
	a2.Shutdown()
	a2, c2 = startDC(t, "dc2", append([]string{"-data-dir=" + dir2, "-hcl", hcl2}, ports...)...)
	ce2 = c2.ConfigEntries()
	// Before dc2 can reach dc1 again: the recorded status, from the data.
	poll.Eventually(t, 30*time.Second, "the status after the restart", func() (bool, string) {
		s := configStats(t, c2)
		return s["replicated_index"] == stats["replicated_index"], fmt.Sprint(s, " want replicated_index ", stats["replicated_index"])
	})
	federate(t, a2, c1, c2, "")
	if _, _, err := ce1.Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "after-restart", Protocol: "http"}, nil); err != nil {
		t.Fatal(err)
	}
	waitEntry(t, c2, "the write after dc2's restart replicated", api.ServiceDefaults, "after-restart", protocolIs("http"))
	for k, idx := range before {
		kind, name, _ := strings.Cut(k, "/")
		e, _, err := ce2.Get(kind, name, nil)
		if err != nil || e.GetModifyIndex() != idx {
			t.Errorf("%s after the restart: %+v %v, want it untouched at ModifyIndex %d", k, e, err, idx)
		}
	}

	// The primary gone: the status says so, as do Consul's gauges, and
	// dc2 keeps serving its copy.
	poll.Eventually(t, 30*time.Second, "the status and gauges up to date", func() (bool, string) {
		return gauge(t, c2, "leader.replication.config-entries.status") == 1, "status gauge not 1"
	})
	a1.Shutdown()
	poll.Eventually(t, 60*time.Second, "the failure in the status", func() (bool, string) {
		s := configStats(t, c2)
		return s["last_error"] != "" && s["last_error_message"] != "" && gauge(t, c2, "leader.replication.config-entries.status") == 0,
			fmt.Sprint(s)
	})
	if idx := gauge(t, c2, "leader.replication.config-entries.index"); idx == 0 {
		t.Errorf("the index gauge: %v", idx)
	}
	waitEntry(t, c2, "dc2's copy with dc1 down", api.ServiceDefaults, "web", protocolIs("grpc"))
}

// gauge is the last value of the gauge whose name ends in name at c's
// agent, -1 when it has none.
func gauge(t *testing.T, c *api.Client, name string) float32 {
	t.Helper()
	info, err := c.Agent().Metrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range info.Gauges {
		if strings.HasSuffix(g.Name, "."+name) {
			return g.Value
		}
	}
	return -1
}

// With ACLs on, dc1 the primary: replication reads dc1's entries with
// dc2's replication token; a write sent to dc2 is judged by dc2 (a token
// without operator write is refused there) and then by dc1.
func TestConfigReplicationACL(t *testing.T) {
	_, a2, c1, c2 := startACLDatacenters(t, true)

	if _, _, err := c1.ConfigEntries().Set(&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: api.ProxyConfigGlobal,
		Config: map[string]any{"protocol": "http"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c1.ConfigEntries().Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "grpc"}, nil); err != nil {
		t.Fatal(err)
	}
	waitEntry(t, c2, "dc1's proxy-defaults in dc2", api.ProxyDefaults, api.ProxyConfigGlobal, func(e api.ConfigEntry) bool { return e != nil })
	waitEntry(t, c2, "dc1's web in dc2", api.ServiceDefaults, "web", protocolIs("grpc"))

	// A global token of dc1 that may read but not write the mesh's
	// configuration, once it is in dc2.
	policy, _, err := c1.ACL().PolicyCreate(&api.ACLPolicy{Name: "readers",
		Rules: `operator = "read"
service_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reader, _, err := c1.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the reader token in dc2", func() (bool, string) {
		tok, _, err := c2.ACL().TokenRead(reader.AccessorID, nil)
		return err == nil && tok != nil, fmt.Sprint(tok, err)
	})
	readerDC2 := aclClient(t, a2.HTTPAddr(), reader.SecretID)
	if e, _, err := readerDC2.ConfigEntries().Get(api.ProxyDefaults, api.ProxyConfigGlobal, nil); err != nil || e == nil {
		t.Fatalf("the reader token reads proxy-defaults in dc2: %+v %v", e, err)
	}
	_, _, err = readerDC2.ConfigEntries().Set(&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: api.ProxyConfigGlobal,
		Config: map[string]any{"protocol": "tcp"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("a write by a token without operator write in dc2: %v, want Permission denied", err)
	}
	if _, err := readerDC2.ConfigEntries().Delete(api.ServiceDefaults, "web", nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("a delete by a token without service write in dc2: %v, want Permission denied", err)
	}

	// The management token's write through dc2 lands in dc1 and comes
	// back.
	if _, _, err := c2.ConfigEntries().Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "from-dc2", Protocol: "tcp"}, nil); err != nil {
		t.Fatalf("a write sent to dc2: %v", err)
	}
	if e, _, err := c1.ConfigEntries().Get(api.ServiceDefaults, "from-dc2", nil); err != nil || !protocolIs("tcp")(e) {
		t.Fatalf("the write sent to dc2, read in dc1: %+v %v", e, err)
	}
	waitEntry(t, c2, "the write sent to dc2 back in dc2", api.ServiceDefaults, "from-dc2", protocolIs("tcp"))
	if p, _, err := c1.ConfigEntries().Get(api.ProxyDefaults, api.ProxyConfigGlobal, nil); err != nil || p.(*api.ProxyConfigEntry).Config["protocol"] != "http" {
		t.Fatalf("dc1's proxy-defaults after the refused write: %+v %v", p, err)
	}
}

// Client agents of a secondary: one that knows the primary
// (primary_datacenter) sends a config entry write there, and it comes back
// replicated; one that does not is refused by dc2's servers, saying why,
// rather than writing an entry here that replication would undo. Both
// read dc2's copy.
func TestConfigReplicationClientAgents(t *testing.T) {
	_, c1 := startDC(t, "dc1", "-hcl", `primary_datacenter = "dc1"`)
	a2, c2 := startDC(t, "dc2", "-hcl", `primary_datacenter = "dc1"`)
	federate(t, a2, c1, c2, "")
	srv := membersOf(t, c2)["s-dc2"]
	join := fmt.Sprintf("-retry-join=%s:%d", srv.Addr, srv.Port)
	knows := agenttest.Client(t, agenttest.Start(t, "-node=knows", "-datacenter=dc2", "-data-dir="+t.TempDir(), join,
		"-hcl", `primary_datacenter = "dc1"`).HTTPAddr())
	unaware := agenttest.Client(t, agenttest.Start(t, "-node=unaware", "-datacenter=dc2", "-data-dir="+t.TempDir(), join).HTTPAddr())

	poll.Eventually(t, 30*time.Second, "a write through dc2's client agent that knows the primary", func() (bool, string) {
		_, _, err := knows.ConfigEntries().Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "via-client", Protocol: "http"}, nil)
		return err == nil, fmt.Sprint(err)
	})
	if e, _, err := c1.ConfigEntries().Get(api.ServiceDefaults, "via-client", nil); err != nil || !protocolIs("http")(e) {
		t.Fatalf("the write through dc2's client agent, read in dc1: %+v %v", e, err)
	}
	waitEntry(t, knows, "the write back in dc2, read by the client agent", api.ServiceDefaults, "via-client", protocolIs("http"))
	waitEntry(t, unaware, "dc2's copy, read by the other client agent", api.ServiceDefaults, "via-client", protocolIs("http"))

	_, _, err := unaware.ConfigEntries().Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "local", Protocol: "http"}, nil)
	if err == nil || !strings.Contains(err.Error(), `config entries are written in the primary datacenter "dc1"`) {
		t.Fatalf("a write through a client agent that does not know the primary: %v, want the servers' refusal", err)
	}
	if e, _, err := c2.ConfigEntries().Get(api.ServiceDefaults, "local", nil); err == nil {
		t.Fatalf("the refused write is in dc2: %+v", e)
	}
}
