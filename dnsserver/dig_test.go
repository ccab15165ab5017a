package dnsserver

import (
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// dig runs the real dig against s and returns its non-comment output lines.
func dig(t *testing.T, s *Server, args ...string) []string {
	t.Helper()
	path, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig is not installed (Debian: apt-get install dnsutils)")
	}
	host, port, _ := net.SplitHostPort(s.Addr())
	out, err := exec.Command(path, append([]string{"@" + host, "-p", port, "+time=5", "+tries=1"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.HasPrefix(l, ";") {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

func TestDig(t *testing.T) {
	s := startServer(t, DefaultConfig())
	want := []string{"1 1 8080 n1.node.dc1.consul.", "1 1 8080 n2.node.dc1.consul."}
	if got := dig(t, s, "web.service.consul", "SRV", "+short"); !slices.Equal(got, want) {
		t.Errorf("dig SRV +short:\n got %q\nwant %q", got, want)
	}
	if got := dig(t, s, "web.service.consul", "+short"); !slices.Equal(got, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("dig A +short: %q", got)
	}
	if got := dig(t, s, "n1.node.consul", "TXT", "+short"); !slices.Equal(got, []string{`"hello world"`, `"rack=r1"`}) {
		t.Errorf("dig TXT +short: %q", got)
	}
}

// TestDigTruncation has dig see the TC bit over plain UDP and retry over
// TCP by itself, as stub resolvers do.
func TestDigTruncation(t *testing.T) {
	s := startServer(t, bigConfig(true))
	got := dig(t, s, "+noedns", "big.service.consul", "SRV", "+short")
	if len(got) != 30 {
		t.Errorf("dig +noedns got %d SRV records after its TCP retry, want 30: %q", len(got), got)
	}
	if got := dig(t, s, "+noedns", "+ignore", "big.service.consul", "SRV", "+short"); len(got) != 3 {
		t.Errorf("dig +noedns +ignore got %d SRV records over UDP, want 3", len(got))
	}
}
