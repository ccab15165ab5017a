package checks

import (
	"net"
	"strings"
	"testing"
	"time"
)

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// udpServer listens on addr and, if echo is set, answers every datagram.
func udpServer(t *testing.T, addr string, echo bool) net.PacketConn {
	t.Helper()
	var pc net.PacketConn
	var err error
	for range 50 {
		if pc, err = net.ListenPacket("udp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if echo {
				pc.WriteTo(buf[:n], from)
			}
		}
	}()
	return pc
}

func TestUDPFlips(t *testing.T) {
	const interval = 100 * time.Millisecond
	pc := udpServer(t, "127.0.0.1:0", true)
	addr := pc.LocalAddr().String()
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "dns", UDP: addr, Interval: interval}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "dns", "passing", interval+slack); out != "UDP connect "+addr+": Success" {
		t.Errorf("passing output %q", out)
	}
	// Nothing listening: the host answers with ICMP port unreachable.
	pc.Close()
	if out := waitStatus(t, r, "dns", "critical", 2*interval+slack); !strings.Contains(out, "connection refused") {
		t.Errorf("critical output %q", out)
	}
	// A server that never answers passes too: silence until the timeout
	// is not an error (Consul's rule).
	silent := udpServer(t, addr, false)
	defer silent.Close()
	waitStatus(t, r, "dns", "passing", 2*interval+slack)
	r.Remove("dns")
	if got := rec.transitions("dns"); len(got) != 3 {
		t.Errorf("reported %v, want passing, critical, passing", got)
	}
}
