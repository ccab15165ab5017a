package agent_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/agenttest"
)

// Service definitions from config files, in JSON and HCL, reach the agent
// and the catalog with every key Consul users write.
func TestServicesFromConfigFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"web.json": `{"service": {"name": "web", "id": "web-1", "tags": ["rails", "v2"], "address": "10.1.2.3", "port": 8888,
			"meta": {"team": "shop"}, "weights": {"passing": 5, "warning": 2}, "enable_tag_override": true,
			"tagged_addresses": {"wan": {"address": "198.51.100.1", "port": 80}},
			"checks": [
				{"id": "web-ttl", "name": "web alive", "ttl": "30s"},
				{"name": "web tcp", "tcp": "127.0.0.1:1", "interval": "10s", "timeout": "1s", "deregister_critical_service_after": "90m"}
			]}}`,
		"db.hcl": `service {
  name = "db"
  port = 5432
  tags = ["primary"]
  check {
    id       = "db-ttl"
    name     = "db alive"
    ttl      = "1m"
  }
}
check {
  id   = "disk"
  name = "disk space"
  ttl  = "5m"
}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := agenttest.Start(t, "-dev", "-config-dir="+dir)
	c := agenttest.Client(t, a.HTTPAddr())
	svcs, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	web, db := svcs["web-1"], svcs["db"]
	if web == nil || db == nil {
		t.Fatalf("services from config: %v", svcs)
	}
	if web.Address != "10.1.2.3" || web.Port != 8888 || web.Meta["team"] != "shop" || web.Weights.Passing != 5 ||
		web.Weights.Warning != 2 || !web.EnableTagOverride || web.TaggedAddresses["wan"].Port != 80 || len(web.Tags) != 2 {
		t.Fatalf("web from JSON: %+v", web)
	}
	if db.Port != 5432 || len(db.Tags) != 1 || db.Tags[0] != "primary" {
		t.Fatalf("db from HCL: %+v", db)
	}
	checks, _ := c.Agent().Checks()
	for _, id := range []string{"web-ttl", "service:web-1:2", "db-ttl", "disk"} {
		if checks[id] == nil {
			t.Errorf("check %s missing; have %v", id, keys(checks))
		}
	}
	if ch := checks["service:web-1:2"]; ch != nil && (ch.ServiceID != "web-1" || ch.Type != "tcp") {
		t.Errorf("tcp check: %+v", ch)
	}
	// Config services are synced to the catalog as soon as there is a
	// leader, which the agent may have got only just now.
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, _, err := c.Health().Service("web", "v2", false, nil)
		if err == nil && len(entries) == 1 && entries[0].Service.Address == "10.1.2.3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web in the catalog: %v %+v", err, entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
