package bench

import (
	"net"
	"testing"
	"time"
)

func TestUnreadInTable(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:0000004A 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 0100007F:1F90 0100007F:D432 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0100007F:D431 0100007F:1F90 01 00000000:00000010 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: 0100007F:1F91 0100007F:D433 01 00000000:00000010 00:00000000 00000000     0        0 5 1 0 20 4 30 10 -1
   5: 0100007F:1F90 0100007F:D434 01 00000000:00000001 00:00000000 00000000     0        0 6 1 0 20 4 30 10 -1
   6: 0D00007F:1F90 0100007F:D435 01 00000000:00000005 00:00000000 00000000     0        0 7 1 0 20 4 30 10 -1
`)
	// Port 0x1F90 = 8080 on 127.0.0.1: the listener (0A) does not count,
	// nor the client side (3), nor another port (4), nor an empty queue
	// (2), nor the same port on another loopback address (6).
	n, err := unreadInTable(table, 8080)
	if err != nil || n != 2 {
		t.Errorf("got %d, %v; want 2", n, err)
	}
	if _, err := unreadInTable([]byte("h\n 0: 0100007F:1F90 x 01 zz\n"), 8080); err == nil {
		t.Error("a malformed queue accepted")
	}
}

func TestUnreadTCPLive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if _, err := UnreadTCP(port); err != nil {
		t.Skip(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	wait := func(want int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			n, err := UnreadTCP(port)
			if err != nil {
				t.Fatal(err)
			}
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d unread connections, want %d", n, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait(1)
	buf := make([]byte, 64)
	if _, err := s.Read(buf); err != nil {
		t.Fatal(err)
	}
	wait(0)
}
