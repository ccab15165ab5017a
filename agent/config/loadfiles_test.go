package config

import (
	"reflect"
	"testing"
)

// LoadFiles is Load with only -config-file/-config-dir and -config-format:
// the same Config, the same warnings, the same refusals.
func TestLoadFilesIsLoadWithOnlyFiles(t *testing.T) {
	dir := t.TempDir()
	conf := write(t, dir, "conf.d/10-base.json", `{"data_dir": "/d", "node_name": "n1", "audit": {"enabled": true}}`)
	write(t, dir, "conf.d/20-web.hcl", "service {\n  name = \"web\"\n  port = 80\n}\n")
	confDir := dir + "/conf.d"
	noExt := write(t, dir, "agent.conf", `node_name = "x"`+"\n"+`data_dir = "/d"`)

	for _, tc := range []struct {
		paths  []string
		format string
		args   []string
	}{
		{paths: []string{conf}, args: []string{"-config-file", conf}},
		{paths: []string{confDir}, args: []string{"-config-dir", confDir}},
		{paths: []string{noExt}, format: "hcl", args: []string{"-config-format=hcl", "-config-file", noExt}},
	} {
		got, err := LoadFiles(tc.paths, tc.format)
		if err != nil {
			t.Fatalf("LoadFiles(%q, %q): %v", tc.paths, tc.format, err)
		}
		want := mustLoad(t, tc.args...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LoadFiles(%q, %q) = %+v\nLoad(%q) = %+v", tc.paths, tc.format, got, tc.args, want)
		}
		if tc.paths[0] == confDir && len(got.Services) != 1 {
			t.Errorf("LoadFiles(%q): services %+v", tc.paths, got.Services)
		}
	}
	if c, _ := LoadFiles([]string{confDir}, ""); len(c.Warnings) != 1 || !hasWarning(c, `"audit"`) {
		t.Errorf("warnings %q, want the one about audit", c.Warnings)
	}

	// Without a format the extensionless file is skipped, and the result
	// lacks a data_dir, as the agent's would.
	if _, err := LoadFiles([]string{noExt}, ""); err == nil {
		t.Error("LoadFiles of a skipped file: no error, want data_dir required")
	}
	if _, err := LoadFiles([]string{dir + "/absent.json"}, ""); err == nil {
		t.Error("LoadFiles of a missing file: no error")
	}
}
