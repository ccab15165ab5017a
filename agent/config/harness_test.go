package config

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// The config file Consul's sdk/testutil writes for a server (here with the
// keys its TestServerConfig can add, ACL tokens, TLS, Connect and the
// rest): Herald loads it, applies what it implements, and only warns about
// the rest, calling nothing in it unknown. A JSON null, which the harness
// writes for settings it leaves alone, is not set and not warned about.
func TestConsulSDKHarnessConfig(t *testing.T) {
	// The files must exist: the agent reads them at start-up.
	ca := tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	f := write(t, t.TempDir(), "config.json", `{
		"node_name": "node-1", "node_id": "2f4a0ecd-8b51-1f9f-35ee-4c9bcd64cd13",
		"performance": {"raft_multiplier": 1}, "bootstrap": true, "server": true,
		"data_dir": "/tmp/harness/data", "segments": null, "disable_update_check": true,
		"log_level": "debug", "bind_addr": "127.0.0.1", "addresses": {},
		"ports": {"dns": 23501, "http": 23502, "https": 23503, "serf_lan": 23504, "serf_wan": 23505,
			"server": 23506, "grpc": 23507, "grpc_tls": 23536, "proxy_min_port": 20000, "proxy_max_port": 20100},
		"acl": {"enabled": true, "default_policy": "deny", "tokens": {"master": "root", "agent_master": "towel"}},
		"acl_datacenter": "dc1", "primary_datacenter": "dc1", "acl_default_policy": "allow",
		"skip_leave_on_interrupt": true, "peering": {"enabled": true}, "version": "1.20.0",
		"connect": {"enabled": true, "ca_config": {"cluster_id": "11111111-2222-3333-4444-555555555555"}},
		"raft_protocol": 3, "enable_debug": true, "enable_script_checks": true, "partition": "",
		"encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", "node_meta": {"rack": "r1"},
		"ca_file": "`+ca.CertFile+`", "cert_file": "`+cert+`", "key_file": "`+key+`",
		"verify_incoming": true, "verify_incoming_rpc": true, "verify_incoming_https": true, "verify_outgoing": true,
		"autopilot": {"server_stabilization_time": "1s"}, "audit": {"enabled": true},
		"experiments": ["resource-apis"], "locality": {"region": "r", "zone": "z"},
		"retry_join": ["127.0.0.1:23604"]
	}`)
	c := mustLoad(t, "-config-file", f)
	if c.NodeName != "node-1" || !c.Server || !c.Bootstrap || c.RaftMultiplier != 1 || c.Ports.HTTP != 23502 ||
		c.Ports.Server != 23506 || c.LogLevel != "debug" || !c.SkipLeaveOnInterrupt || c.Encrypt == "" ||
		c.NodeMeta["rack"] != "r1" || len(c.RetryJoin) != 1 || !c.EnableScriptChecks || !c.EnableDebug {
		t.Errorf("the harness's settings were not applied: %+v", c)
	}
	if !c.TLS.HTTPS.VerifyIncoming || !c.TLS.InternalRPC.VerifyIncoming || c.TLS.InternalRPC.CertFile != cert {
		t.Errorf("the harness's TLS settings were not applied: %+v", c.TLS)
	}
	if c.Ports.NATS != 4222 || c.Ports.NATSSet || c.Ports.NATSCluster != 6222 || c.Ports.NATSClusterSet {
		t.Errorf("NATS ports %+v: want the defaults, not chosen, free to fall back", c.Ports)
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, "is unknown") || strings.Contains(w, "segments") {
			t.Errorf("warning: %s", w)
		}
	}
	if !c.Connect.Enabled || c.Connect.CAConfig["cluster_id"] != "11111111-2222-3333-4444-555555555555" {
		t.Errorf("the harness's connect block was not applied: %+v", c.Connect)
	}
	// connect and acl are Herald's now; only their parts it lacks warn.
	if c.ACL.DefaultPolicy != "deny" || c.ACL.Tokens["initial_management"] != "root" || c.ACL.Tokens["agent_recovery"] != "towel" {
		t.Errorf("the harness's acl block was not applied: %+v", c.ACL)
	}
	for _, key := range []string{"peering", "ports.grpc_tls", "version", "raft_protocol"} {
		if !hasWarning(c, `"`+key+`" is not implemented`) {
			t.Errorf("no warning that %s is not implemented; warnings: %q", key, c.Warnings)
		}
	}
}

func hasWarning(c *Config, part string) bool {
	for _, w := range c.Warnings {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}

// A NATS port is chosen when a flag, a file or -hcl sets it, whatever the
// value: only then is a taken port an error.
func TestNATSPortsChosen(t *testing.T) {
	dir := t.TempDir()
	if c := mustLoad(t, "-dev"); c.Ports.NATSSet || c.Ports.NATSClusterSet {
		t.Errorf("-dev alone chose NATS ports: %+v", c.Ports)
	}
	c := mustLoad(t, "-dev", "-nats-port=4222")
	if !c.Ports.NATSSet || c.Ports.NATSClusterSet {
		t.Errorf("-nats-port=4222: %+v, want only NATS chosen", c.Ports)
	}
	f := write(t, dir, "p.hcl", `ports { nats_cluster = 7000 }`)
	c = mustLoad(t, "-dev", "-config-file", f)
	if c.Ports.NATSSet || !c.Ports.NATSClusterSet || c.Ports.NATSCluster != 7000 {
		t.Errorf("ports.nats_cluster in a file: %+v, want only the cluster port chosen", c.Ports)
	}
	c = mustLoad(t, "-dev", "-hcl", `ports { nats = 0 }`)
	if !c.Ports.NATSSet || c.Ports.NATS != 0 {
		t.Errorf("ports.nats = 0 from -hcl: %+v", c.Ports)
	}
}
