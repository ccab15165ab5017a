package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// UnreadTCP counts the established TCP connections whose local address is
// 127.0.0.1:port (where every bench's servers listen) and whose receive
// queue holds bytes the owning process has not read yet, from Linux's
// /proc/net/tcp and /proc/net/tcp6. Pointed at a server's port, it says how
// many clients' requests the server has not read: the server side of every
// connection has the server's address as its local address. The address
// and not the port alone: a connection of another process on another
// loopback address can have the same port number as its local port. It
// fails where those files do not exist.
func UnreadTCP(port int) (int, error) {
	total, found := 0, false
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		found = true
		n, err := unreadInTable(b, port)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		total += n
	}
	if !found {
		return 0, fmt.Errorf("no /proc/net/tcp: cannot see socket queues on this system")
	}
	return total, nil
}

// unreadInTable reads one /proc/net/tcp table: a header line, then per
// socket "sl local_address rem_address st tx_queue:rx_queue ...", with
// addresses as hex IP:port and queues in hex.
func unreadInTable(b []byte, port int) (int, error) {
	// 127.0.0.1 as the tables write it: in host byte order, and in
	// /proc/net/tcp6 as an IPv4-mapped address.
	want4, want6 := fmt.Sprintf("0100007F:%04X", port), fmt.Sprintf("0000000000000000FFFF00000100007F:%04X", port)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1024), 1<<20)
	n := 0
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		if f[3] != "01" || f[1] != want4 && f[1] != want6 { // 01: ESTABLISHED
			continue
		}
		_, rx, ok := strings.Cut(f[4], ":")
		if !ok {
			return 0, fmt.Errorf("queue field %q", f[4])
		}
		q, err := strconv.ParseUint(rx, 16, 64)
		if err != nil {
			return 0, fmt.Errorf("queue field %q: %w", f[4], err)
		}
		if q > 0 {
			n++
		}
	}
	return n, sc.Err()
}
