package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/testutil/poll"
)

// TestMonitorFollowsDebugLogsInJSON follows an agent that logs at info
// with -log-level=debug -log-json: the DNS server's debug line of each
// answer reaches the monitor. Interrupting it exits 0; the agent stopping
// ends it with Consul's message and 1.
func TestMonitorFollowsDebugLogsInJSON(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-log-level=info", "-hcl", `acl { enabled = true }`)
	args := []string{"-log-level=debug", "-log-json"}
	r := &bgRun{args: args, stdout: &bgBuffer{}, stderr: &bgBuffer{}, code: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { r.code <- new(monitorCmd).run(ctx, args, bgIO(a.HTTPAddr(), "", r.stdout, r.stderr)) }()

	q := new(dns.Msg)
	q.SetQuestion("consul.service.consul.", dns.TypeSRV)
	poll.Eventually(t, lockWait, "the debug line of a DNS answer", func() (bool, string) {
		// Asked again each time: the monitor sees only what is logged
		// after it attached.
		if _, err := dns.Exchange(q, a.DNSAddr()); err != nil {
			return false, err.Error()
		}
		for _, line := range strings.Split(r.stdout.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "answered" && rec["level"] == "DEBUG" &&
				rec["name"] == "consul.service.consul." {
				return true, ""
			}
		}
		return false, fmt.Sprintf("stdout %q stderr %q", r.stdout, r.stderr)
	})
	cancel()
	if code := r.wait(t); code != 0 {
		t.Errorf("interrupted monitor exited with %d", code)
	}

	// Attached once an info line shows: a token update logs one.
	r2 := &bgRun{stdout: &bgBuffer{}, stderr: &bgBuffer{}, code: make(chan int, 1)}
	go func() {
		r2.code <- new(monitorCmd).run(context.Background(), nil, bgIO(a.HTTPAddr(), "", r2.stdout, r2.stderr))
	}()
	c := agenttest.Client(t, a.HTTPAddr())
	poll.Eventually(t, lockWait, "the token update's line", func() (bool, string) {
		if _, err := c.Agent().UpdateAgentACLToken("secret", nil); err != nil {
			return false, err.Error()
		}
		out := r2.stdout.String()
		return strings.Contains(out, `msg="Updated agent's ACL token"`), fmt.Sprintf("stdout %q stderr %q", out, r2.stderr)
	})
	a.Shutdown()
	if code := r2.wait(t); code != 1 || !strings.Contains(r2.stdout.String(), "Remote side ended the monitor!") {
		t.Errorf("monitor of a stopped agent: code %d stdout %q stderr %q", code, r2.stdout, r2.stderr)
	}
}
