package config

import (
	"reflect"
	"strings"
	"testing"
)

// kv_replication blocks, in HCL (repeated) and JSON (a list), with the
// destination prefix defaulting to the prefix; and the configurations
// refused.
func TestKVReplication(t *testing.T) {
	dir := t.TempDir()
	hcl := write(t, dir, "repl.hcl", `
kv_replication {
  source_datacenter = "DC1"
  prefix = "app/"
  destination_prefix = "mirror/app/"
}
kv_replication {
  source_datacenter = "dc3"
  prefix = "shared/"
  token = "t"
}`)
	c := mustLoad(t, "-server", "-data-dir="+dir, "-datacenter=dc2", "-config-file="+hcl)
	want := []KVReplication{
		{SourceDatacenter: "dc1", Prefix: "app/", DestinationPrefix: "mirror/app/"},
		{SourceDatacenter: "dc3", Prefix: "shared/", DestinationPrefix: "shared/", Token: "t"},
	}
	if !reflect.DeepEqual(c.KVReplication, want) {
		t.Errorf("HCL: %+v, want %+v", c.KVReplication, want)
	}
	js := write(t, dir, "repl.json", `{"kv_replication": [{"source_datacenter": "dc1", "prefix": "a/"}]}`)
	if c := mustLoad(t, "-server", "-data-dir="+dir, "-datacenter=dc2", "-config-file="+js); len(c.KVReplication) != 1 || c.KVReplication[0].DestinationPrefix != "a/" {
		t.Errorf("JSON: %+v", c.KVReplication)
	}

	for _, bad := range []struct {
		args []string
		err  string
	}{
		{[]string{"-data-dir=/d", "-server", "-datacenter=dc1", "-hcl", `kv_replication { source_datacenter = "dc1" prefix = "a/" }`}, "is this datacenter"},
		{[]string{"-data-dir=/d", "-server", "-hcl", `kv_replication { prefix = "a/" }`}, "source_datacenter is required"},
		{[]string{"-data-dir=/d", "-datacenter=dc2", "-hcl", `kv_replication { source_datacenter = "dc1" }`}, "for servers"},
		{[]string{"-data-dir=/d", "-server", "-datacenter=dc2", "-hcl", `kv_replication { source_datacenter = "dc1" prfix = "a/" }`}, "unknown key"},
		{[]string{"-data-dir=/d", "-server", "-datacenter=dc2", "-hcl", `kv_replication { source_datacenter = "dc1" prefix = "a/" }
kv_replication { source_datacenter = "dc3" prefix = "b/" destination_prefix = "a/b/" }`}, "overlap"},
	} {
		_, err := Load(bad.args)
		if err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("Load(%q): %v, want an error saying %q", bad.args, err, bad.err)
		}
	}
}
