package config

import (
	"reflect"
	"strings"
	"testing"
)

// connect { } reads the same from JSON and HCL, is on by default (Consul's
// default since 1.14), and refuses providers and CA settings Herald cannot
// honour when the agent starts rather than when the first leader acts.
func TestConnectBlock(t *testing.T) {
	dir := t.TempDir()
	if c := mustLoad(t, "-data-dir", dir); !c.Connect.Enabled || len(c.Warnings) != 0 {
		t.Errorf("default: enabled %v, warnings %q", c.Connect.Enabled, c.Warnings)
	}
	jsonFile := write(t, dir, "c.json", `{"connect": {"enabled": false, "ca_provider": "consul",
		"ca_config": {"leaf_cert_ttl": "24h", "private_key_type": "rsa", "private_key_bits": 2048}}}`)
	hclFile := write(t, dir, "c.hcl", `connect {
  enabled     = false
  ca_provider = "consul"
  ca_config {
    leaf_cert_ttl    = "24h"
    private_key_type = "rsa"
    private_key_bits = 2048
  }
}`)
	fromJSON := mustLoad(t, "-data-dir", dir, "-config-file", jsonFile).Connect
	fromHCL := mustLoad(t, "-data-dir", dir, "-config-file", hclFile).Connect
	want := Connect{Enabled: false, CAProvider: "consul",
		CAConfig: map[string]any{"leaf_cert_ttl": "24h", "private_key_type": "rsa", "private_key_bits": 2048}}
	if !reflect.DeepEqual(fromJSON, want) || !reflect.DeepEqual(fromHCL, want) {
		t.Errorf("connect block:\nJSON %#v\n HCL %#v\nwant %#v", fromJSON, fromHCL, want)
	}
	for _, bad := range []struct{ hcl, says string }{
		{`connect { ca_provider = "vault" }`, "not supported by Herald"},
		{`connect { ca_config { leaf_cert_ttl = "1m" } }`, "LeafCertTTL"},
		{`connect { ca_config { private_key_type = "ec", private_key_bits = 2048 } }`, "EC key length"},
	} {
		_, err := Load([]string{"-data-dir", dir, "-hcl", bad.hcl})
		if err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s: %v, want an error saying %q", bad.hcl, err, bad.says)
		}
	}
}
