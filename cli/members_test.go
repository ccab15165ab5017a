package cli_test

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
)

func TestMembersListsTheAgent(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=alpha")
	out, errOut, code := runCLI("members", "-http-addr="+a.HTTPAddr())
	if code != 0 {
		t.Fatalf("members: %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Node") {
		t.Fatalf("members output:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if len(f) < 7 || f[0] != "alpha" || f[2] != "alive" || f[3] != "server" || f[6] != "dc1" {
		t.Fatalf("members row: %q", lines[1])
	}
	out, _, _ = runCLI("members", "-detailed", "-http-addr="+a.HTTPAddr())
	if !strings.Contains(out, "role=consul") || !strings.Contains(out, "dc=dc1") {
		t.Fatalf("members -detailed:\n%s", out)
	}
}
