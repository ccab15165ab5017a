package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestAPortIsFreeForTCPAndUDP(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		port, err := Loopback()
		if err != nil {
			t.Fatal(err)
		}
		if port < low || port >= high {
			t.Fatalf("port %d outside %d–%d", port, low, high)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		tcp, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port %d is not free for TCP: %v", port, err)
		}
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("port %d is not free for UDP: %v", port, err)
		}
		// Held ports are not handed out again.
		defer tcp.Close()
		defer udp.Close()
		if seen[port] {
			t.Fatalf("port %d handed out while held", port)
		}
		seen[port] = true
	}
}
