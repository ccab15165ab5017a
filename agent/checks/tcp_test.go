package checks

import (
	"net"
	"testing"
	"time"
)

// listenOn listens on addr, retrying briefly: the port was ours a moment
// ago and the kernel may not have let go of it yet.
func listenOn(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	var err error
	for range 50 {
		var l net.Listener
		if l, err = net.Listen(network, addr); err == nil {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("listen %s: %v", addr, err)
	return nil
}

func TestTCPFlips(t *testing.T) {
	const interval = 100 * time.Millisecond
	l := listenOn(t, "tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	go acceptAndDrop(l)
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "db", TCP: addr, Interval: interval}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "db", "passing", interval+slack); out != "TCP connect "+addr+": Success" {
		t.Errorf("passing output %q", out)
	}
	l.Close()
	if out := waitStatus(t, r, "db", "critical", interval+slack); !containsAny(out, "connection refused") {
		t.Errorf("critical output %q", out)
	}
	l = listenOn(t, "tcp", addr)
	defer l.Close()
	go acceptAndDrop(l)
	waitStatus(t, r, "db", "passing", interval+slack)
	r.Remove("db")
	if got := rec.transitions("db"); len(got) != 3 {
		t.Errorf("reported %v, want passing, critical, passing", got)
	}
}

// acceptAndDrop accepts connections and closes them, like a server that is
// up, until l is closed.
func acceptAndDrop(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}
