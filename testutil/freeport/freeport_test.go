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
		if low, high := portRange(); port < low || port >= high {
			t.Fatalf("port %d outside %d–%d", port, low, high-1)
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

func TestPortsComeFromAboveTheEphemeralRangeWhenThereIsRoom(t *testing.T) {
	for _, c := range []struct{ end, low, high int }{
		{60999, 61000, 65536}, // Linux's default
		{65000, fallbackLow, fallbackHigh},
		{0, fallbackLow, fallbackHigh}, // unknown
	} {
		if low, high := rangeAbove(c.end); low != c.low || high != c.high {
			t.Errorf("ephemeral range ending at %d: got %d–%d, want %d–%d", c.end, low, high, c.low, c.high)
		}
	}
}

// A port is never handed out twice, even once it is free again: tests pick
// all their servers' ports before starting any.
func TestAPortIsHandedOutOnce(t *testing.T) {
	seen := map[int]bool{}
	for range 500 {
		port, err := Loopback()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
}
