package dnsserver

import (
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestNewValidates(t *testing.T) {
	cat := fixture().catalog()
	for name, cfg := range map[string]Config{
		"no catalog":   {},
		"bad recursor": {Catalog: cat, Recursors: []string{":53"}},
		"root domain":  {Catalog: cat, Domain: "."},
		"bad domain":   {Catalog: cat, Domain: "a..b"},
		"dotted dc":    {Catalog: cat, Datacenter: "a.b"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := New(Config{}); !errors.Is(err, ErrNoCatalog) {
		t.Errorf("New without catalog: %v, want ErrNoCatalog", err)
	}
	// Zero values are Consul's defaults.
	s, err := New(Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	if s.st.dc != "dc1" || s.st.zones[0] != "consul." || s.st.udpAnswerLimit != 3 || s.st.recursorWait != 2*time.Second || !s.st.nodeMetaTXT {
		t.Errorf("defaults: %+v", s.st)
	}
}

func TestStartShutdown(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	s, err := New(Config{Catalog: fixture().catalog(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if _, port, _ := net.SplitHostPort(addr); port == "0" || port == "" {
		t.Fatalf("Addr() = %q", addr)
	}
	if err := s.Start("127.0.0.1:0"); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: %v, want ErrStarted", err)
	}
	// One port, both transports.
	for _, network := range []string{"udp", "tcp"} {
		if r := query(t, network, addr, "web.service.consul.", dns.TypeA); len(r.Answer) != 2 {
			t.Errorf("%s: %d answers", network, len(r.Answer))
		}
	}
	// Another server cannot take the port while it is in use.
	other, _ := New(Config{Catalog: fixture().catalog(), Logger: quiet})
	if err := other.Start(addr); err == nil {
		other.Shutdown()
		t.Error("a second server started on a port in use")
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" {
		t.Errorf("Addr() after Shutdown = %q", s.Addr())
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("TCP still accepting after Shutdown")
	}
	// The same port serves again after a restart.
	if err := s.Start(addr); err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer s.Shutdown()
	if r := query(t, "udp", addr, "web.service.consul.", dns.TypeA); len(r.Answer) != 2 {
		t.Errorf("after restart: %d answers", len(r.Answer))
	}
}

// TestGarbage sends what is not DNS, and odd DNS, to both listeners; the
// server must keep answering.
func TestGarbage(t *testing.T) {
	s := startServer(t, DefaultConfig())
	payloads := [][]byte{
		{},
		{0},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		// A header claiming one question, then nothing.
		{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0},
		// A compression pointer pointing at itself.
		{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1},
	}
	for _, p := range payloads {
		c, err := net.Dial("udp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(p)
		c.Close()
		c, err = net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(append([]byte{byte(len(p) >> 8), byte(len(p))}, p...))
		c.Close()
	}
	// Odd but well-formed questions answered by the handler itself.
	for _, q := range []dns.Question{
		{Name: "consul.", Qtype: dns.TypeAXFR, Qclass: dns.ClassINET},
		{Name: `a\.b.service.consul.`, Qtype: dns.TypeA, Qclass: dns.ClassINET},
		{Name: `\000.node.consul.`, Qtype: dns.TypeA, Qclass: dns.ClassINET},
		{Name: "_._.service.consul.", Qtype: dns.TypeSRV, Qclass: dns.ClassINET},
		{Name: ".", Qtype: dns.TypeNS, Qclass: dns.ClassINET},
	} {
		m := new(dns.Msg)
		m.Id = dns.Id()
		m.Question = []dns.Question{q}
		r := exchange(t, "tcp", s.Addr(), m)
		if q.Qtype == dns.TypeAXFR && r.Rcode != dns.RcodeNotImplemented {
			t.Errorf("AXFR: rcode %s, want NOTIMP", dns.RcodeToString[r.Rcode])
		}
	}
	for _, network := range []string{"udp", "tcp"} {
		if r := query(t, network, s.Addr(), "web.service.consul.", dns.TypeA); len(r.Answer) != 2 {
			t.Errorf("%s after garbage: %d answers", network, len(r.Answer))
		}
	}
}
