package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validateDir writes the named files into a fresh directory. A "{{dir}}" in
// a file's content is replaced by the directory, so a config can use it as
// its data_dir.
func validateDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		content = strings.ReplaceAll(content, "{{dir}}", filepath.ToSlash(dir))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestValidate(t *testing.T) {
	dir := validateDir(t, map[string]string{
		"base.json":     `{"bind_addr": "10.0.0.1", "data_dir": "{{dir}}", "node_name": "n1"}`,
		"services.hcl":  "service {\n  name = \"web\"\n  port = 80\n}\n",
		"json.conf":     `{"bind_addr": "10.0.0.1", "data_dir": "{{dir}}", "node_name": "n1"}`,
		"hcl.conf":      "bind_addr = \"10.0.0.1\"\ndata_dir = \"{{dir}}\"\nnode_name = \"n1\"\n",
		"README.md":     "not a config file",
		"noext":         `{"data_dir": "{{dir}}"}`,
		"audit.json":    `{"audit": {"enabled": true}}`,
		"badport.json":  `{"service": {"name": "web", "port": 70000}}`,
		"syntax.json":   `{"data_dir": "{{dir}}",}`,
		"nodatadir.hcl": "node_name = \"n1\"\n",
		"badkey.json":   `{"encrypt": "not-a-key"}`,
	})
	file := func(name string) string { return filepath.Join(dir, name) }
	valid := "Configuration is valid!\n"
	failed := "Config validation failed: "

	for _, s := range []step{
		// Files and directories are read as the agent reads them, several
		// merged into one configuration.
		{args: args("validate", file("base.json")), stdout: valid},
		{args: args("validate", file("base.json"), file("services.hcl")), stdout: valid},
		{args: args("validate", "-quiet", file("base.json"), file("services.hcl"))},
		// -config-format reads files whatever their extension; JSON is HCL.
		{args: args("validate", "-config-format=json", file("json.conf")), stdout: valid},
		{args: args("validate", "-config-format", "hcl", file("hcl.conf")), stdout: valid},
		{args: args("validate", "-config-format=hcl", file("json.conf")), stdout: valid},
		{args: args("validate", "-config-format=json", file("hcl.conf")), code: 1, stderrPfx: failed + "file " + file("hcl.conf") + ": invalid JSON"},
		{args: args("validate", "-config-format=yaml", file("base.json")), code: 1,
			stderr: "-config-format must be either 'hcl' or 'json\n"},

		// Keys the agent accepts but ignores are warnings, on stderr; the
		// configuration is still valid. -quiet silences them too.
		{args: args("validate", file("base.json"), file("audit.json")), stdout: valid,
			stderr: `config key "audit" is not implemented by Herald and is ignored (file ` + file("audit.json") + ")\n"},
		{args: args("validate", "-quiet", file("base.json"), file("audit.json"))},
		// A file whose format cannot be told is skipped with a warning, and
		// then lacks what it would have set.
		{args: args("validate", file("noext")), code: 1, stderr: failed +
			"data_dir is required: set -data-dir or data_dir (only -dev runs without one)\n"},

		// Errors: the agent's own words after Consul's prefix, exit 1.
		{args: args("validate", file("nodatadir.hcl")), code: 1, stderr: failed +
			"data_dir is required: set -data-dir or data_dir (only -dev runs without one)\n"},
		{args: args("validate", file("base.json"), file("badport.json")), code: 1,
			stderr: failed + "service \"web\": port 70000 is out of range 0..65535\n"},
		{args: args("validate", file("base.json"), file("badkey.json")), code: 1, stderrPfx: failed + "encrypt has invalid key: illegal base64 data at input byte 3"},
		{args: args("validate", file("syntax.json")), code: 1, stderrPfx: failed + "file " + file("syntax.json") + ": invalid JSON at line 1"},
		{args: args("validate", file("absent.json")), code: 1, stderrPfx: failed + "cannot read config path: "},
		{args: args("validate", "-quiet", file("nodatadir.hcl")), code: 1, stderrPfx: failed},
		{args: args("validate"), code: 1, stderr: "Must specify at least one config file or directory\n"},
		{args: args("validate", "-quiet"), code: 1, stderr: "Must specify at least one config file or directory\n"},
		{args: args("validate", "-bogus", file("base.json")), code: 1, stderrPfx: "flag provided but not defined: -bogus\n"},
	} {
		s.check(t, invocation{})
	}
}

// A directory is read like the agent's -config-dir: its .json and .hcl
// files in name order, other files ignored, later files adding to or
// overriding earlier ones.
func TestValidateDirectory(t *testing.T) {
	good := validateDir(t, map[string]string{
		"10-base.json": `{"bind_addr": "10.0.0.1", "data_dir": "{{dir}}", "node_name": "n1"}`,
		"20-web.hcl":   "service {\n  name = \"web\"\n  port = 80\n}\n",
		"README.md":    "not a config file",
	})
	step{args: args("validate", good), stdout: "Configuration is valid!\n"}.check(t, invocation{})
	step{args: args("validate", "-quiet", good)}.check(t, invocation{})

	// The last file sets an invalid datacenter over the first's valid one
	// (lower-cased, as the agent and Consul do).
	bad := validateDir(t, map[string]string{
		"10-base.json": `{"bind_addr": "10.0.0.1", "data_dir": "{{dir}}", "node_name": "n1", "datacenter": "east"}`,
		"20-dc.hcl":    "datacenter = \"East Coast\"\n",
	})
	step{args: args("validate", bad), code: 1,
		stderr: "Config validation failed: datacenter \"east coast\" is invalid: use only a-z, 0-9, '-' and '_'\n"}.check(t, invocation{})
	// The same files as the agent would load them, one by one.
	step{args: args("validate", filepath.Join(bad, "10-base.json")), stdout: "Configuration is valid!\n"}.check(t, invocation{})
}

func TestValidateHelp(t *testing.T) {
	r := runCLI(t, "validate", "-h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: herald validate [options] FILE_OR_DIRECTORY...\n") {
		t.Fatalf("validate -h: code %d, stdout %q", r.code, r.stdout)
	}
	for _, flag := range []string{"-config-format=<format>", "-quiet"} {
		if !strings.Contains(r.stdout, "\n  "+flag+"\n") {
			t.Errorf("validate -h does not list %s:\n%s", flag, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "-http-addr") {
		t.Errorf("validate -h lists HTTP options, but validate talks to no agent:\n%s", r.stdout)
	}
}
