package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/dnsserver"
)

// write creates a file under dir and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, args ...string) *Config {
	t.Helper()
	c, err := Load(args)
	if err != nil {
		t.Fatalf("Load(%q): %v", args, err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustLoad(t, "-data-dir", t.TempDir())
	hostname, _ := os.Hostname()
	checks := []struct {
		name      string
		got, want any
	}{
		{"Dev", c.Dev, false},
		{"Server", c.Server, false},
		{"NodeName", c.NodeName, hostname},
		{"Datacenter", c.Datacenter, "dc1"},
		{"BindAddr", c.BindAddr, "0.0.0.0"},
		{"ClientAddr", c.ClientAddr, "127.0.0.1"},
		{"Addresses", c.Addresses, Addresses{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"}},
		{"Ports", c.Ports, Ports{HTTP: 8500, HTTPS: -1, DNS: 8600, Server: 8300, SerfLAN: 8301, SerfWAN: 8302, GRPC: -1, NATS: 4222, NATSCluster: 6222, SidecarMin: 21000, SidecarMax: 21255}},
		{"LogLevel", c.LogLevel, "info"},
		{"RaftMultiplier", c.RaftMultiplier, 5},
		{"KVMaxValueSize", c.KVMaxValueSize, 524288},
		{"TxnMaxOps", c.TxnMaxOps, 128},
		{"HistoryRetainCommands", c.HistoryRetainCommands, 1000000},
		{"HistoryRetainAge", c.HistoryRetainAge, time.Duration(0)},
		{"UIEnabled", c.UIEnabled, false},
		{"UIContentPath", c.UIContentPath, "/ui/"},
		{"RetryInterval", c.RetryInterval, 30 * time.Second},
		{"Domain", c.Domain, "consul."},
		{"DNS", c.DNS, DNSConfig{AllowStale: true, ServiceTTL: map[string]time.Duration{},
			UDPAnswerLimit: 3, EnableAdditionalNodeMetaTXT: true, RecursorTimeout: 2 * time.Second}},
		{"NodeMeta", c.NodeMeta, map[string]string{}},
		{"Warnings", len(c.Warnings), 0},
		{"ConfigFiles", len(c.ConfigFiles), 0},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	// Bind 0.0.0.0 is not reachable, so something concrete is advertised.
	ip := net.ParseIP(c.AdvertiseAddr)
	if ip == nil || ip.To4() == nil || ip.IsUnspecified() {
		t.Errorf("AdvertiseAddr = %q, want a concrete IPv4 address", c.AdvertiseAddr)
	}

	d := DefaultConfig()
	if d.Ports.HTTP != 8500 || d.Addresses.DNS != "127.0.0.1" || d.AdvertiseAddr == "" {
		t.Errorf("DefaultConfig is not filled in: %+v", d)
	}
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "data_dir") {
		t.Errorf("DefaultConfig().Validate() = %v, want the missing data_dir", err)
	}
}

func TestDev(t *testing.T) {
	c := mustLoad(t, "-dev")
	if !c.Dev || !c.Server || !c.Bootstrap || !c.UIEnabled {
		t.Errorf("dev: Dev=%v Server=%v Bootstrap=%v UI=%v, want all true", c.Dev, c.Server, c.Bootstrap, c.UIEnabled)
	}
	if c.BindAddr != "127.0.0.1" || c.ClientAddr != "127.0.0.1" || c.AdvertiseAddr != "127.0.0.1" {
		t.Errorf("dev addresses: bind %q client %q advertise %q, want 127.0.0.1", c.BindAddr, c.ClientAddr, c.AdvertiseAddr)
	}
	if c.RaftMultiplier != 1 || c.LogLevel != "debug" || c.DataDir != "" {
		t.Errorf("dev: raft_multiplier %d log_level %q data_dir %q", c.RaftMultiplier, c.LogLevel, c.DataDir)
	}

	// Files and flags still override the dev defaults.
	dir := t.TempDir()
	f := write(t, dir, "a.hcl", `bind_addr = "10.1.2.3"`+"\n"+`ui_config { enabled = false }`)
	c = mustLoad(t, "-dev", "-config-file", f, "-client", "0.0.0.0")
	if c.BindAddr != "10.1.2.3" || c.AdvertiseAddr != "10.1.2.3" || c.ClientAddr != "0.0.0.0" || c.UIEnabled {
		t.Errorf("dev overrides: bind %q advertise %q client %q ui %v", c.BindAddr, c.AdvertiseAddr, c.ClientAddr, c.UIEnabled)
	}
}

func TestFlagsOverrideFiles(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.json", `{
		"node_name": "from-file", "datacenter": "East",
		"ports": {"http": 1000, "dns": 1001},
		"retry_join": ["a"], "node_meta": {"rack": "r1", "zone": "z1"},
		"log_level": "WARN", "data_dir": "/file"
	}`)
	c := mustLoad(t, "-config-file", f,
		"-node", "from-flag", "-http-port=2000", "-retry-join", "b", "-node-meta", "rack:r2",
		"-data-dir", dir, "-dc", "west", "-ui", "-retry-interval", "5s", "-nats-port", "4333",
		"-hcl", `ports { dns = 53 }`)
	want := []struct {
		name      string
		got, want any
	}{
		{"NodeName", c.NodeName, "from-flag"},
		{"Datacenter", c.Datacenter, "west"},
		{"DataDir", c.DataDir, dir},
		{"Ports.HTTP", c.Ports.HTTP, 2000},
		{"Ports.DNS (from -hcl, applied last)", c.Ports.DNS, 53},
		{"Ports.NATS", c.Ports.NATS, 4333},
		{"RetryJoin (lists append)", c.RetryJoin, []string{"a", "b"}},
		{"NodeMeta (maps merge per key)", c.NodeMeta, map[string]string{"rack": "r2", "zone": "z1"}},
		{"LogLevel (lower-cased)", c.LogLevel, "warn"},
		{"UIEnabled", c.UIEnabled, true},
		{"RetryInterval", c.RetryInterval, 5 * time.Second},
		{"ConfigFiles", c.ConfigFiles, []string{f}},
	}
	for _, w := range want {
		if !reflect.DeepEqual(w.got, w.want) {
			t.Errorf("%s = %#v, want %#v", w.name, w.got, w.want)
		}
	}
}

func TestFlagForms(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args  []string
		check func(*Config) bool
	}{
		{[]string{"-server", "-bootstrap-expect", "3"}, func(c *Config) bool { return c.Server && c.BootstrapExpect == 3 }},
		{[]string{"-server=true", "-bootstrap-expect=5"}, func(c *Config) bool { return c.Server && c.BootstrapExpect == 5 }},
		// Expecting one server is bootstrapping, as in Consul.
		{[]string{"-server", "-bootstrap-expect=1"}, func(c *Config) bool { return c.Bootstrap && c.BootstrapExpect == 0 }},
		{[]string{"-join", "a", "-join=b", "-recursor", "8.8.8.8", "-recursor", "1.1.1.1:53"}, func(c *Config) bool {
			return reflect.DeepEqual(c.StartJoin, []string{"a", "b"}) && reflect.DeepEqual(c.Recursors, []string{"8.8.8.8", "1.1.1.1:53"})
		}},
		{[]string{"-domain", "Example.COM", "-alt-domain", "alt"}, func(c *Config) bool { return c.Domain == "example.com." && c.AltDomain == "alt." }},
		{[]string{"-bind", "10.0.0.5"}, func(c *Config) bool { return c.AdvertiseAddr == "10.0.0.5" }},
		{[]string{"-bind", "10.0.0.5", "-advertise", "192.168.1.1"}, func(c *Config) bool { return c.AdvertiseAddr == "192.168.1.1" }},
		{[]string{"-log-level", "err", "-log-json"}, func(c *Config) bool { return c.LogLevel == "error" && c.LogJSON }},
		{[]string{"-nats-url", "nats://n:4222", "-encrypt", "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="}, func(c *Config) bool {
			return c.NATSURL == "nats://n:4222" && c.Encrypt != ""
		}},
		{[]string{"-enable-script-checks", "-enable-local-script-checks", "-pid-file", "/run/h.pid", "-retry-max", "4"}, func(c *Config) bool {
			return c.EnableScriptChecks && c.EnableLocalScriptChecks && c.PidFile == "/run/h.pid" && c.RetryMax == 4
		}},
		{[]string{"-syslog", "-raft-protocol", "3", "-rejoin", "-log-file", "/tmp/x", "-disable-host-node-id"}, func(c *Config) bool {
			return len(c.Warnings) == 5 && strings.Contains(c.Warnings[0], "ignored by Herald")
		}},
	}
	for _, tc := range cases {
		c := mustLoad(t, append([]string{"-data-dir", dir}, tc.args...)...)
		if !tc.check(c) {
			t.Errorf("Load(%q) gave an unexpected config: %+v", tc.args, c)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	cases := map[string][]string{
		"unknown flag":       {"-no-such-flag"},
		"bad number":         {"-http-port", "http"},
		"bad duration":       {"-retry-interval", "often"},
		"bad bool":           {"-server=maybe"},
		"positional":         {"-dev", "extra"},
		"bad node-meta":      {"-dev", "-node-meta", ":v"},
		"missing config":     {"-dev", "-config-file", "/no/such/file.json"},
		"bad -hcl":           {"-dev", "-hcl", "ports {"},
		"-hcl wrong type":    {"-dev", "-hcl", `ports { http = "x" }`},
		"missing flag value": {"-node"},
	}
	for name, args := range cases {
		if _, err := Load(args); err == nil {
			t.Errorf("%s: Load(%q) succeeded, want an error", name, args)
		}
	}
	if _, err := Load([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: got %v, want flag.ErrHelp", err)
	}
	if u := Usage(); !strings.Contains(u, "-retry-join") || !strings.Contains(u, "-config-dir") {
		t.Errorf("Usage() lacks flags:\n%s", u)
	}
}

// The same configuration in JSON and in HCL must give the same Config.
func TestJSONAndHCLAgree(t *testing.T) {
	const jsonConfig = `{
  "node_name": "n1",
  "datacenter": "dc2",
  "data_dir": "/var/lib/herald",
  "server": true,
  "bootstrap_expect": 3,
  "client_addr": "0.0.0.0",
  "bind_addr": "10.0.0.1",
  "ports": {"http": 8501, "dns": 53, "grpc": 8502},
  "addresses": {"http": "10.0.0.1", "dns": "127.0.0.1"},
  "performance": {"raft_multiplier": 2},
  "limits": {"kv_max_value_size": 1024, "txn_max_ops": 64},
  "history": {"retain_commands": 500, "retain_age": "24h"},
  "ui_config": {"enabled": true, "content_path": "dashboard"},
  "dns_config": {"allow_stale": false, "node_ttl": "10s", "service_ttl": {"*": "5s", "web": "30s"}, "only_passing": true, "udp_answer_limit": 5},
  "retry_join": ["10.0.0.2", "10.0.0.3"],
  "node_meta": {"rack": "r1"},
  "acl": {"enabled": true},
  "service": {
    "name": "web",
    "id": "web-1",
    "tags": ["v1", "primary"],
    "port": 8080,
    "meta": {"team": "a"},
    "tagged_addresses": {"lan": {"address": "10.0.0.1", "port": 8080}},
    "weights": {"passing": 10},
    "check": {
      "http": "http://localhost:8080/health",
      "interval": "10s",
      "deregister_critical_service_after": "90s",
      "header": {"X-Probe": ["1"]}
    }
  },
  "services": [
    {"name": "db", "port": 5432, "checks": [{"tcp": "localhost:5432", "interval": "5s"}, {"ttl": "30s"}]},
    {"name": "cache", "port": 6379}
  ],
  "checks": [{"id": "mem", "args": ["/bin/check-mem"], "interval": "30s"}],
  "watches": [{"type": "key", "key": "a/b", "args": ["/bin/handler"]}]
}`
	const hclConfig = `
node_name = "n1"
datacenter = "dc2"
data_dir = "/var/lib/herald"
server = true
bootstrap_expect = 3
client_addr = "0.0.0.0"
bind_addr = "10.0.0.1"
ports {
  http = 8501
  dns = 53
  grpc = 8502
}
addresses {
  http = "10.0.0.1"
  dns = "127.0.0.1"
}
performance { raft_multiplier = 2 }
limits {
  kv_max_value_size = 1024
  txn_max_ops = 64
}
history {
  retain_commands = 500
  retain_age = "24h"
}
ui_config {
  enabled = true
  content_path = "dashboard"
}
dns_config {
  allow_stale = false
  node_ttl = "10s"
  service_ttl {
    "*" = "5s"
    web = "30s"
  }
  only_passing = true
  udp_answer_limit = 5
}
retry_join = ["10.0.0.2", "10.0.0.3"]
node_meta { rack = "r1" }
acl { enabled = true }
service {
  name = "web"
  id = "web-1"
  tags = ["v1", "primary"]
  port = 8080
  meta { team = "a" }
  tagged_addresses {
    lan {
      address = "10.0.0.1"
      port = 8080
    }
  }
  weights { passing = 10 }
  check {
    http = "http://localhost:8080/health"
    interval = "10s"
    deregister_critical_service_after = "90s"
    header { X-Probe = ["1"] }
  }
}
services = [
  {
    name = "db"
    port = 5432
    checks = [
      { tcp = "localhost:5432", interval = "5s" },
      { ttl = "30s" },
    ]
  },
  { name = "cache", port = 6379 },
]
checks = [{ id = "mem", args = ["/bin/check-mem"], interval = "30s" }]
watches = [{ type = "key", key = "a/b", args = ["/bin/handler"] }]
`
	dir := t.TempDir()
	jsonFile := write(t, dir, "a.json", jsonConfig)
	hclFile := write(t, dir, "a.hcl", hclConfig)
	fromJSON := mustLoad(t, "-config-file", jsonFile)
	fromHCL := mustLoad(t, "-config-file", hclFile)

	// Spot-check the values themselves, so that agreeing on nothing fails.
	web := fromJSON.Services[0]
	wantWeb := ServiceDefinition{
		ID: "web-1", Name: "web", Tags: []string{"v1", "primary"}, Port: 8080,
		Meta:            map[string]string{"team": "a"},
		TaggedAddresses: map[string]ServiceAddress{"lan": {Address: "10.0.0.1", Port: 8080}},
		Weights:         Weights{Passing: 10, Warning: 1},
		Checks: []map[string]any{{
			"http": "http://localhost:8080/health", "interval": "10s",
			"deregister_critical_service_after": "90s",
			"header":                            map[string]any{"X-Probe": []any{"1"}},
		}},
	}
	if !reflect.DeepEqual(web, wantWeb) {
		t.Errorf("web service:\n got %#v\nwant %#v", web, wantWeb)
	}
	if len(fromJSON.Services) != 3 || len(fromJSON.Services[1].Checks) != 2 || fromJSON.Services[2].Name != "cache" {
		t.Errorf("services: %#v", fromJSON.Services)
	}
	if fromJSON.Ports.HTTP != 8501 || fromJSON.Addresses.HTTP != "10.0.0.1" || fromJSON.Addresses.HTTPS != "0.0.0.0" ||
		fromJSON.RaftMultiplier != 2 || fromJSON.HistoryRetainAge != 24*time.Hour || fromJSON.UIContentPath != "/dashboard/" ||
		fromJSON.DNS.ServiceTTL["*"] != 5*time.Second || fromJSON.DNS.AllowStale {
		t.Errorf("JSON config not applied: %+v", fromJSON)
	}
	if len(fromJSON.Warnings) != 0 || !fromJSON.ACL.Enabled {
		t.Errorf("acl.enabled not applied, or warnings: %q", fromJSON.Warnings)
	}

	// Apart from the file names, the two must be identical.
	for _, c := range []*Config{fromJSON, fromHCL} {
		c.ConfigFiles = nil
		for i, w := range c.Warnings {
			c.Warnings[i] = strings.NewReplacer(jsonFile, "F", hclFile, "F").Replace(w)
		}
	}
	if !reflect.DeepEqual(fromJSON, fromHCL) {
		t.Errorf("JSON and HCL differ:\nJSON %#v\n HCL %#v", fromJSON, fromHCL)
	}
}

// leave_on_terminate and skip_leave_on_interrupt default by mode, as in
// Consul: a server stays in the cluster on SIGTERM and SIGINT, a client
// leaves on both; either can be set explicitly.
func TestLeaveOnSignalDefaults(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name               string
		args               []string
		onTerm, skipOnIntr bool
	}{
		{"client", []string{"-data-dir", dir}, true, false},
		{"server", []string{"-data-dir", dir, "-server"}, false, true},
		{"dev", []string{"-dev"}, false, true},
		{"server set", []string{"-data-dir", dir, "-server", "-hcl", "leave_on_terminate = true\nskip_leave_on_interrupt = false"}, true, false},
		{"client set", []string{"-data-dir", dir, "-hcl", "leave_on_terminate = false\nskip_leave_on_interrupt = true"}, false, true},
	}
	for _, c := range cases {
		cfg := mustLoad(t, c.args...)
		if cfg.LeaveOnTerminate != c.onTerm || cfg.SkipLeaveOnInterrupt != c.skipOnIntr {
			t.Errorf("%s: leave_on_terminate = %v, skip_leave_on_interrupt = %v; want %v, %v",
				c.name, cfg.LeaveOnTerminate, cfg.SkipLeaveOnInterrupt, c.onTerm, c.skipOnIntr)
		}
		for _, w := range cfg.Warnings {
			if strings.Contains(w, "leave") {
				t.Errorf("%s: warning %q", c.name, w)
			}
		}
	}
}

func TestConfigDirOrder(t *testing.T) {
	dir := t.TempDir()
	confDir := filepath.Join(dir, "consul.d")
	a := write(t, confDir, "10-a.json", `{"node_name": "a", "retry_join": ["a"], "data_dir": "/a"}`)
	b := write(t, confDir, "20-b.hcl", `node_name = "b"`+"\n"+`retry_join = ["b"]`)
	write(t, confDir, "30-c.json~", `not config`)
	write(t, confDir, "README.md", `# not config`)
	write(t, confDir, "nested.json/inner.json", `{"node_name": "nested"}`) // a directory: not recursed into
	last := write(t, dir, "last.json", `{"retry_join": ["last"]}`)
	first := write(t, dir, "first.hcl", `node_name = "first"`)

	c := mustLoad(t, "-config-file", first, "-config-dir", confDir, "-config-file", last)
	if c.NodeName != "b" {
		t.Errorf("NodeName = %q, want the lexically last file's %q", c.NodeName, "b")
	}
	if want := []string{"a", "b", "last"}; !reflect.DeepEqual(c.RetryJoin, want) {
		t.Errorf("RetryJoin = %q, want %q", c.RetryJoin, want)
	}
	if want := []string{first, a, b, last}; !reflect.DeepEqual(c.ConfigFiles, want) {
		t.Errorf("ConfigFiles = %q, want %q", c.ConfigFiles, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("skipping non-config files should be silent, got %q", c.Warnings)
	}
}

func TestConfigFormat(t *testing.T) {
	dir := t.TempDir()
	noExt := write(t, dir, "agent.conf", `node_name = "x"`+"\n"+`data_dir = "/d"`)

	c := mustLoad(t, "-config-format", "hcl", "-config-file", noExt)
	if c.NodeName != "x" || !reflect.DeepEqual(c.ConfigFiles, []string{noExt}) {
		t.Errorf("-config-format hcl: NodeName %q, files %q", c.NodeName, c.ConfigFiles)
	}

	// Without a format, Consul skips the file with a warning.
	c = mustLoad(t, "-config-file", noExt, "-data-dir", dir)
	if c.NodeName == "x" || len(c.ConfigFiles) != 0 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], noExt) {
		t.Errorf("unknown extension: NodeName %q files %q warnings %q", c.NodeName, c.ConfigFiles, c.Warnings)
	}
}

func TestUnknownAndUnimplementedKeysWarn(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "x.hcl", `
data_dir = "/d"
acl { enabled = true default_policy = "deny" }
tls { grpc { use_auto_cert = true } }
telemetry { prometheus_retention_time = "24h" }
rejoin_after_leave = true
no_such_key = 1
ports {
  http = 8500
  grpc_tls = 8503
  bogus = 1
}
services = [{ name = "a" }, { name = "b", Proxy = {} }]
service {
  name = "web"
  connect { sidecar_service {} }
  check {
    http = "http://x"
    intervall = "10s"
    os_service = "abc"
  }
}
`)
	c, err := Load([]string{"-config-file", f})
	if err != nil {
		t.Fatalf("unknown keys must not be errors: %v", err)
	}
	want := []string{
		`config key "no_such_key" is unknown and is ignored (file ` + f + `)`,
		`config key "ports.bogus" is unknown and is ignored (file ` + f + `)`,
		`config key "ports.grpc_tls" is not implemented by Herald and is ignored (file ` + f + `)`,
		`config key "rejoin_after_leave" is not implemented by Herald and is ignored (file ` + f + `)`,
		`config key "service.check.intervall" is unknown and is ignored (file ` + f + `)`,
		`config key "service.check.os_service" is not implemented by Herald and is ignored (file ` + f + `)`,
		`config key "tls.grpc.use_auto_cert" is not implemented by Herald and is ignored (file ` + f + `)`,
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", c.Warnings, want)
	}
	// What is known still applies, and ignored keys stay out of the check.
	if c.Ports.HTTP != 8500 || len(c.Services) != 3 || c.Telemetry.PrometheusRetentionTime != 24*time.Hour || !c.ACL.Enabled || !reflect.DeepEqual(c.Services[0].Checks, []map[string]any{{"http": "http://x"}}) {
		t.Errorf("known keys not applied: ports %+v services %#v", c.Ports, c.Services)
	}
}

// TestDNSDefaultsAreTheServers checks that the agent takes its DNS
// defaults from the DNS server rather than writing them a second time.
func TestDNSDefaultsAreTheServers(t *testing.T) {
	c, d := DefaultConfig(), dnsserver.DefaultConfig()
	got := []any{c.Domain, c.DNS.NodeTTL, c.DNS.EnableTruncate, c.DNS.OnlyPassing, c.DNS.UDPAnswerLimit,
		c.DNS.ARecordLimit, !c.DNS.EnableAdditionalNodeMetaTXT, c.DNS.RecursorTimeout, c.DNS.AllowStale}
	want := []any{d.Domain, d.NodeTTL, d.EnableTruncate, d.OnlyPassing, d.UDPAnswerLimit,
		d.ARecordLimit, d.DisableNodeMetaTXT, d.RecursorTimeout, d.ReadBarrier == nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("agent DNS defaults %v, DNS server's %v", got, want)
	}
}

func TestDNSConfigKeys(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, hcl string
		check     func(*DNSConfig) bool
		warning   string // "" means none
	}{
		{"defaults", `dns_config {}`,
			func(d *DNSConfig) bool { return d.AllowStale && d.EnableAdditionalNodeMetaTXT }, ""},
		{"allow_stale off", `dns_config { allow_stale = false }`,
			func(d *DNSConfig) bool { return !d.AllowStale }, ""},
		{"node meta TXT off", `dns_config { enable_additional_node_meta_txt = false }`,
			func(d *DNSConfig) bool { return !d.EnableAdditionalNodeMetaTXT }, ""},
		// Consul's own default asks for nothing Herald does not do.
		{"max_stale at Consul's default", `dns_config { max_stale = "87600h" }`,
			func(d *DNSConfig) bool { return d.AllowStale }, ""},
		{"max_stale bound", `dns_config { max_stale = "10s" }`,
			func(d *DNSConfig) bool { return d.AllowStale },
			`"dns_config.max_stale" = 10s is not implemented by Herald and is ignored`},
	}
	for i, tc := range cases {
		f := write(t, dir, fmt.Sprintf("%d.hcl", i), tc.hcl)
		c, err := Load([]string{"-dev", "-config-file", f})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(&c.DNS) {
			t.Errorf("%s: DNS config %+v", tc.name, c.DNS)
		}
		switch {
		case tc.warning == "" && len(c.Warnings) != 0:
			t.Errorf("%s: warnings %q, want none", tc.name, c.Warnings)
		case tc.warning != "" && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], tc.warning) ||
			!strings.Contains(c.Warnings[0], "allow_stale = false")):
			t.Errorf("%s: warnings %q, want one containing %q that says what to do instead", tc.name, c.Warnings, tc.warning)
		}
	}
	for _, bad := range []string{`dns_config { max_stale = "-1s" }`, `dns_config { max_stale = 10 }`} {
		f := write(t, dir, "bad.hcl", bad)
		if _, err := Load([]string{"-dev", "-config-file", f}); err == nil || !strings.Contains(err.Error(), "dns_config.max_stale") {
			t.Errorf("%s: error %v, want one naming dns_config.max_stale", bad, err)
		}
	}
}

// Service and check definitions also take the HTTP API's CamelCase keys.
func TestCamelCaseDefinitions(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "svc.json", `{"data_dir": "/d", "service": {
		"ID": "w1", "Name": "web", "Port": "8080", "EnableTagOverride": true,
		"Check": {"CheckID": "c1", "HTTP": "http://x", "Interval": "10s", "DeregisterCriticalServiceAfter": "1m", "TLSSkipVerify": true}
	}}`)
	c := mustLoad(t, "-config-file", f)
	want := ServiceDefinition{ID: "w1", Name: "web", Port: 8080, EnableTagOverride: true, Weights: Weights{1, 1},
		Checks: []map[string]any{{"id": "c1", "http": "http://x", "interval": "10s",
			"deregister_critical_service_after": "1m", "tls_skip_verify": true}}}
	if len(c.Services) != 1 || !reflect.DeepEqual(c.Services[0], want) {
		t.Errorf("services = %#v\nwant %#v", c.Services, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestMalformedFilesNameTheFile(t *testing.T) {
	cases := map[string]struct{ name, content, want string }{
		"JSON syntax":        {"bad.json", "{\n  \"node_name\": \"a\",\n}", "line 3"},
		"JSON truncated":     {"cut.json", `{"node_name": `, "unexpected end"},
		"JSON not an object": {"list.json", `["a"]`, "must be an object"},
		"JSON trailing data": {"two.json", `{} {}`, "after the top-level object"},
		"HCL syntax":         {"bad.hcl", "ports {\n http = \n}", "invalid HCL"},
		"string for number":  {"port.json", `{"ports": {"http": "eighty"}}`, `ports.http: expected a whole number, got string "eighty"`},
		"number for string":  {"name.hcl", `node_name = 7`, "node_name: expected a string"},
		"bad duration":       {"dur.json", `{"retry_interval": "soon"}`, "retry_interval: expected a duration"},
		"number as duration": {"dur2.json", `{"dns_config": {"node_ttl": 10}}`, "dns_config.node_ttl"},
		"fraction for int":   {"frac.json", `{"bootstrap_expect": 1.5}`, "bootstrap_expect"},
		"block as string":    {"blk.json", `{"ports": "8500"}`, "ports: expected an object"},
		"bad service":        {"svc.json", `{"services": [{"name": "a"}, {"port": true}]}`, "services[1].port"},
		"bad list element":   {"rj.json", `{"retry_join": ["a", 1]}`, "retry_join"},
		"bad node_meta":      {"meta.json", `{"node_meta": {"a": 1}}`, "node_meta"},
	}
	for name, tc := range cases {
		path := write(t, t.TempDir(), tc.name, tc.content)
		_, err := Load([]string{"-dev", "-config-file", path})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q should name %s and say %q", name, err, path, tc.want)
		}
	}
}

func TestLenientValues(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.json", `{"data_dir": "/d", "ports": {"http": "8080"}, "server": "true",
		"dns_config": {"service_ttl": {"*": "5s"}}, "node_meta": {"a": "1"}, "retry_join": "one", "node_id": null}`)
	b := write(t, dir, "b.hcl", `dns_config { service_ttl { web = "1m" } }`+"\n"+`node_meta { b = "2" }`)
	c := mustLoad(t, "-config-file", a, "-config-file", b)
	if c.Ports.HTTP != 8080 || !c.Server || !reflect.DeepEqual(c.RetryJoin, []string{"one"}) || c.NodeID != "" {
		t.Errorf("lenient values: http %d server %v retry_join %q", c.Ports.HTTP, c.Server, c.RetryJoin)
	}
	if want := map[string]time.Duration{"*": 5 * time.Second, "web": time.Minute}; !reflect.DeepEqual(c.DNS.ServiceTTL, want) {
		t.Errorf("ServiceTTL = %v, want %v", c.DNS.ServiceTTL, want)
	}
	if want := map[string]string{"a": "1", "b": "2"}; !reflect.DeepEqual(c.NodeMeta, want) {
		t.Errorf("NodeMeta = %v, want %v", c.NodeMeta, want)
	}
}

// HCL decodes repeated blocks as a list: repeated service blocks are
// several services, repeated ports blocks one merged block.
func TestRepeatedHCLBlocks(t *testing.T) {
	f := write(t, t.TempDir(), "r.hcl", `
data_dir = "/d"
ports { http = 1 }
ports { dns = 2 }
service { name = "a" }
service { name = "b" }
`)
	c := mustLoad(t, "-config-file", f)
	if c.Ports.HTTP != 1 || c.Ports.DNS != 2 {
		t.Errorf("ports = %+v, want http 1 and dns 2", c.Ports)
	}
	if len(c.Services) != 2 || c.Services[0].Name != "a" || c.Services[1].Name != "b" {
		t.Errorf("services = %+v, want a and b", c.Services)
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Config {
		c := DefaultConfig()
		c.DataDir = "/var/lib/herald"
		c.AdvertiseAddr = "10.0.0.1"
		return c
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   string // "" means valid
	}{
		{"client agent", func(c *Config) {}, ""},
		{"server without bootstrap_expect", func(c *Config) { c.Server = true }, ""},
		{"server with bootstrap_expect", func(c *Config) { c.Server, c.BootstrapExpect = true, 3 }, ""},
		{"dev without data dir", func(c *Config) { c.Dev, c.Server, c.Bootstrap, c.DataDir = true, true, true, "" }, ""},
		{"disabled ports", func(c *Config) { c.Ports.HTTP, c.Ports.DNS, c.Ports.SerfWAN = -1, -1, -1 }, ""},
		{"dev with bootstrap_expect", func(c *Config) { c.Dev, c.Server, c.Bootstrap, c.BootstrapExpect = true, true, true, 3 }, "-dev"},
		{"bootstrap and bootstrap_expect", func(c *Config) { c.Server, c.Bootstrap, c.BootstrapExpect = true, true, 3 }, "mutually exclusive"},
		{"bootstrap_expect on a client", func(c *Config) { c.BootstrapExpect = 3 }, "requires server"},
		{"bootstrap on a client", func(c *Config) { c.Bootstrap = true }, "requires server"},
		{"negative bootstrap_expect", func(c *Config) { c.Server, c.BootstrapExpect = true, -1 }, "bootstrap_expect cannot be -1"},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data_dir is required"},
		{"http port too big", func(c *Config) { c.Ports.HTTP = 70000 }, "ports.http cannot be 70000"},
		{"server port disabled", func(c *Config) { c.Ports.Server = -1 }, "ports.server cannot be -1"},
		{"raft_multiplier 0", func(c *Config) { c.RaftMultiplier = 0 }, "raft_multiplier cannot be 0"},
		{"raft_multiplier 11", func(c *Config) { c.RaftMultiplier = 11 }, "between 1 and 10"},
		{"bad datacenter", func(c *Config) { c.Datacenter = "dc 1" }, "datacenter"},
		{"bad node id", func(c *Config) { c.NodeID = "node-1" }, "not a UUID"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "log_level"},
		{"bad encrypt", func(c *Config) { c.Encrypt = "c2hvcnQ=" }, "encrypt"},
		{"bind not an IP", func(c *Config) { c.BindAddr = "eth0" }, "bind_addr"},
		{"bind template", func(c *Config) { c.BindAddr = `{{ GetPrivateIP }}` }, "templates are not supported"},
		{"advertise unspecified", func(c *Config) { c.AdvertiseAddr = "0.0.0.0" }, "advertise_addr"},
		{"bad client addr", func(c *Config) { c.Addresses.DNS = "localhost" }, "addresses.dns"},
		{"bad recursor", func(c *Config) { c.Recursors = []string{"dns.google"} }, "recursor"},
		{"service without name", func(c *Config) { c.Services = []ServiceDefinition{{ID: "x"}} }, "has no name"},
		{"zero retry interval", func(c *Config) { c.RetryInterval = 0 }, "retry_interval"},
		{"zero txn ops", func(c *Config) { c.TxnMaxOps = 0 }, "txn_max_ops"},
		{"negative history", func(c *Config) { c.HistoryRetainAge = -time.Second }, "history.retain_age"},
		{"zero udp answers", func(c *Config) { c.DNS.UDPAnswerLimit = 0 }, "udp_answer_limit"},
		{"acl default policy", func(c *Config) { c.ACL.DefaultPolicy = "maybe" }, `acl.default_policy must be "allow" or "deny"`},
		{"acl down policy", func(c *Config) { c.ACL.DownPolicy = "panic" }, `invalid ACL down policy "panic"`},
		{"acl policies", func(c *Config) { c.ACL.DefaultPolicy, c.ACL.DownPolicy = "deny", "extend-cache" }, ""},
	}
	for _, tc := range cases {
		c := valid()
		tc.change(c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}

	// Load validates too.
	if _, err := Load([]string{"-dev", "-bootstrap-expect", "3"}); err == nil || !strings.Contains(err.Error(), "-dev") {
		t.Errorf("Load -dev -bootstrap-expect 3: %v", err)
	}
	if _, err := Load([]string{"-server"}); err == nil || !strings.Contains(err.Error(), "data_dir") {
		t.Errorf("Load -server without data dir: %v", err)
	}
}

// FuzzLoadJSON feeds arbitrary bytes to Load as a JSON config file: errors
// are fine, panics are not.
func FuzzLoadJSON(f *testing.F) {
	f.Add([]byte(`{"node_name": "a", "ports": {"http": 8500}}`))
	f.Add([]byte(`{"service": {"name": "web", "check": {"http": "x", "header": {"a": ["b"]}}}, "services": [{"name": "b"}]}`))
	f.Add([]byte(`{"checks": [{"id": "c"}], "watches": [{"type": "key"}], "dns_config": {"service_ttl": {"*": "1s"}}}`))
	f.Add([]byte(`{"bootstrap_expect": 1e400, "ports": [{"http": "1"}], "node_meta": null}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load([]string{"-dev", "-config-file", path})
		if err == nil && c == nil {
			t.Fatal("nil Config without an error")
		}
	})
}

// FuzzLoadHCL does the same for HCL config files, whose parser is a
// dependency Herald does not control.
func FuzzLoadHCL(f *testing.F) {
	f.Add([]byte("node_name = \"a\"\nports { http = 8500 }\n"))
	f.Add([]byte("service {\n  name = \"web\"\n  check { http = \"x\"\n header { a = [\"b\"] } }\n}\nservices = [{ name = \"b\" }]\n"))
	f.Add([]byte("dns_config { service_ttl { \"*\" = \"1s\" } }\nwatches = [{ type = \"key\" }]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.hcl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load([]string{"-dev", "-config-file", path})
		if err == nil && c == nil {
			t.Fatal("nil Config without an error")
		}
	})
}

// TestACLTokensAndTelemetry checks the acl and telemetry blocks, and that
// Consul's older token keys land on the same tokens.
func TestACLTokensAndTelemetry(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "x.hcl", `
data_dir = "/d"
acl_token = "legacy-default"
acl {
  enabled = true
  enable_token_persistence = true
  tokens {
    agent = "a"
    agent_master = "r"
    dns = "d"
  }
}
telemetry {
  disable_hostname = true
  metrics_prefix = "herald"
  statsd_address = "127.0.0.1:8125"
}
`)
	c, err := Load([]string{"-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"default": "legacy-default", "agent": "a", "agent_recovery": "r", "dns": "d"}
	if !c.ACL.Enabled || !c.ACL.EnableTokenPersistence || !reflect.DeepEqual(c.ACL.Tokens, want) {
		t.Errorf("acl: %+v", c.ACL)
	}
	if !c.Telemetry.DisableHostname || c.Telemetry.MetricsPrefix != "herald" || c.Telemetry.PrometheusRetentionTime != 0 {
		t.Errorf("telemetry: %+v", c.Telemetry)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], `"telemetry.statsd_address" is not implemented`) {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

// The acl block's policies and the initial management token, in HCL and in
// JSON, and Consul's older top-level keys for them.
func TestACLPoliciesAndInitialManagement(t *testing.T) {
	dir := t.TempDir()
	hcl := write(t, dir, "a.hcl", `
data_dir = "/d"
acl {
  enabled = true
  default_policy = "deny"
  down_policy = "extend-cache"
  enable_token_replication = true
  token_ttl = "45s"
  tokens { initial_management = "root" }
}
`)
	json := write(t, t.TempDir(), "b.json", `{"data_dir": "/d", "acl_master_token": "old-root",
		"acl_default_policy": "deny", "acl_down_policy": "allow", "acl_ttl": "45s", "enable_acl_replication": true, "acl": {"enabled": true}}`)
	for _, f := range []string{hcl, json} {
		c, err := Load([]string{"-config-file", f})
		if err != nil {
			t.Fatal(err)
		}
		if !c.ACL.Enabled || c.ACL.DefaultPolicyOrAllow() != "deny" || c.ACL.DownPolicy == "" || c.ACL.TokenTTL != 45*time.Second ||
			c.ACL.Tokens["initial_management"] == "" || !c.ACL.EnableTokenReplication {
			t.Errorf("%s: acl %+v", f, c.ACL)
		}
		if len(c.Warnings) != 0 {
			t.Errorf("%s: warnings %q", f, c.Warnings)
		}
	}
	if c := mustLoad(t, "-data-dir", dir); c.ACL.DefaultPolicyOrAllow() != "allow" {
		t.Errorf("default policy without configuration: %q", c.ACL.DefaultPolicyOrAllow())
	}
}

// TestDeepHCLRefused checks that a config file nested past any real config
// is refused with where it went too deep, before HCL's parser (whose time
// grows with the square of the depth) reads it.
func TestDeepHCLRefused(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "deep.hcl", "meta = "+strings.Repeat("[", 4000)+strings.Repeat("]", 4000)+"\n")
	_, err := Load([]string{"-dev", "-config-file", f})
	if err == nil || !strings.Contains(err.Error(), "nested more than 64 deep at line 1, column 72") {
		t.Fatalf("err = %v, want a nesting error at line 1, column 72", err)
	}
}
