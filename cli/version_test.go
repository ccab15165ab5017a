package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldhq/herald/version"
)

func TestVersionPretty(t *testing.T) {
	defer setRevision("0123abcd")()
	for _, tt := range []struct{ prog, first string }{
		{"herald", "Herald v" + version.Version},
		{"consul", "Consul v" + version.ConsulCompat},
	} {
		r := invocation{prog: tt.prog}.run(t, "version")
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if r.code != 0 || r.stderr != "" || len(lines) != 4 {
			t.Fatalf("%s: %+v", tt.prog, r)
		}
		if lines[0] != tt.first || lines[1] != "Revision 0123abcd" ||
			!regexp.MustCompile(`^Build Date \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(lines[2]) ||
			lines[3] != "Protocol 2 spoken by default, understands 2 to 3 "+
				"(agent will automatically use protocol >2 when speaking to compatible agents)" {
			t.Errorf("%s: output\n%s", tt.prog, r.stdout)
		}
	}
}

// Scripts do `consul version | head -1 | grep -o 'v[0-9.]*'`; the version
// printed as consul must look like a plain Consul release.
func TestVersionAsConsulGrep(t *testing.T) {
	r := invocation{prog: "consul"}.run(t, "--version")
	if !regexp.MustCompile(`^Consul v\d+\.\d+\.\d+\n`).MatchString(r.stdout) {
		t.Errorf("first line %q", firstLine(r.stdout))
	}
}

func TestVersionJSON(t *testing.T) {
	defer setRevision("0123abcd")()
	for _, tt := range []struct{ prog, version string }{
		{"herald", version.Version},
		{"consul", version.ConsulCompat},
	} {
		r := invocation{prog: tt.prog}.run(t, "version", "-format=json")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%+v", r)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%v in %s", err, r.stdout)
		}
		for _, key := range []string{"Version", "Revision", "Prerelease", "FIPS", "BuildDate", "RPC"} {
			if _, ok := got[key]; !ok {
				t.Errorf("%s: key %s missing from %s", tt.prog, key, r.stdout)
			}
		}
		if got["Version"] != tt.version || got["Revision"] != "0123abcd" {
			t.Errorf("%s: %s", tt.prog, r.stdout)
		}
		rpc, _ := got["RPC"].(map[string]any)
		if rpc["Default"] != 2.0 || rpc["Min"] != 2.0 || rpc["Max"] != 3.0 {
			t.Errorf("RPC = %v", got["RPC"])
		}
	}
}

func TestVersionErrors(t *testing.T) {
	if r := runCLI(t, "version", "-format=xml"); r.code != 1 || !strings.Contains(r.stderr, `Unknown -format "xml"`) {
		t.Errorf("bad format: %+v", r)
	}
	if r := runCLI(t, "version", "extra"); r.code != 1 || r.stderr == "" {
		t.Errorf("extra argument: %+v", r)
	}
}

func TestInvokedAsConsul(t *testing.T) {
	for prog, want := range map[string]bool{"consul": true, "CONSUL.EXE": true, "herald": false, "consul-template": false} {
		if got := invokedAsConsul(prog); got != want {
			t.Errorf("invokedAsConsul(%q) = %v", prog, got)
		}
	}
}

func setRevision(rev string) (restore func()) {
	old := version.Revision
	version.Revision = rev
	return func() { version.Revision = old }
}
