package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

func TestJoinLeaveForceLeave(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-node=one")
	b := agenttest.Start(t, "-dev", "-node=two")
	ca, _ := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	members, _ := ca.Agent().Members(false)
	addr := fmt.Sprintf("%s:%d", members[0].Addr, members[0].Port)

	out, errOut, code := runCLI("join", "-http-addr="+b.HTTPAddr(), addr)
	if code != 0 || !strings.Contains(out, "Successfully joined cluster by contacting 1 nodes.") {
		t.Fatalf("join: %d %q %q", code, out, errOut)
	}
	poll.Eventually(t, 10*time.Second, "two among the members after join", func() (bool, string) {
		out, _, _ = runCLI("members", "-http-addr="+a.HTTPAddr())
		return strings.Contains(out, "two"), "\n" + out
	})
	if _, errOut, code := runCLI("join", "-http-addr="+b.HTTPAddr(), "127.0.0.1:1"); code != 1 || !strings.Contains(errOut, "Failed to join any nodes.") {
		t.Fatalf("join of a dead address: %d %q", code, errOut)
	}
	if _, errOut, code := runCLI("force-leave", "-http-addr="+a.HTTPAddr(), "ghost"); code != 1 || !strings.Contains(errOut, "Error force leaving") {
		t.Fatalf("force-leave of an unknown node: %d %q", code, errOut)
	}
	if out, errOut, code := runCLI("leave", "-http-addr="+b.HTTPAddr()); code != 0 || !strings.Contains(out, "Graceful leave complete") {
		t.Fatalf("leave: %d %q %q", code, out, errOut)
	}
}
