package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Ports are drawn from above the kernel's ephemeral range when at least
// minSpan ports lie there (61000–65535 with Linux's default 32768–60999),
// else from fallbackLow–fallbackHigh below it. Above is preferred: Consul's
// own test harness, which some of Herald's tests start, draws its ports from
// 10000 up to the ephemeral range, so ports from there could collide with
// its picks when test packages run side by side.
const (
	minSpan      = 2000
	fallbackLow  = 20000
	fallbackHigh = 32768
)

// portRange is [low, high), worked out once from the kernel's setting.
var portRange = sync.OnceValues(func() (low, high int) {
	return rangeAbove(ephemeralEnd())
})

// rangeAbove is the range above an ephemeral range that ends at end, or the
// fallback when too few ports lie above it.
func rangeAbove(end int) (low, high int) {
	if end > 0 && 65536-(end+1) >= minSpan {
		return end + 1, 65536
	}
	return fallbackLow, fallbackHigh
}

// ephemeralEnd is the last port of the kernel's ephemeral range, or 0 where
// it cannot be read (not Linux).
func ephemeralEnd() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0
	}
	end, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0
	}
	return end
}

// handedOut are the ports On has returned, by address: a test picks every
// port of its servers before it starts any, so a port that is still free
// can have been handed out already, and is not handed out again.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// On returns a port that is free on the local address host for TCP and UDP,
// and that this process has not been given before.
func On(host string) (int, error) {
	low, high := portRange()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		port := low + rand.IntN(high-low)
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if handedOut.addrs[addr] {
			continue
		}
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
		handedOut.addrs[addr] = true
		return port, nil
	}
	return 0, fmt.Errorf("no free port on %s in %d–%d after 100 tries", host, low, high-1)
}

// Loopback is On for 127.0.0.1.
func Loopback() (int, error) { return On("127.0.0.1") }
