package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// Ports are drawn from [low, high): below Linux's default ephemeral range
// (32768–60999), above most well-known services.
const (
	low  = 20000
	high = 32768
)

// On returns a port that is free on the local address host for TCP and UDP.
func On(host string) (int, error) {
	for range 100 {
		port := low + rand.IntN(high-low)
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		tcp, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		udp, err := net.ListenPacket("udp", addr)
		tcp.Close()
		if err != nil {
			continue
		}
		udp.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port on %s in %d–%d after 100 tries", host, low, high-1)
}

// Loopback is On for 127.0.0.1.
func Loopback() (int, error) { return On("127.0.0.1") }
