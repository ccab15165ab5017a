package dnsserver

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// rawUDP sends m over UDP and returns the datagram as received, so that
// sizes are measured on the wire rather than after a re-pack.
func rawUDP(t *testing.T, addr string, m *dns.Msg) (*dns.Msg, int) {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, dns.MaxMsgSize)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatalf("a %d-byte response does not parse: %v", n, err)
	}
	return r, n
}

func srvQuery(qname string, ednsSize uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeSRV)
	if ednsSize > 0 {
		m.SetEdns0(ednsSize, false)
	}
	return m
}

func bigConfig(truncate bool) Config {
	cfg := DefaultConfig()
	cfg.EnableTruncate = truncate
	cfg.Catalog = fixture().big("big", 30).big("huge", 100).catalog()
	return cfg
}

func TestTruncatePlainUDP(t *testing.T) {
	s := startServer(t, bigConfig(true))
	r, size := rawUDP(t, s.Addr(), srvQuery("big.service.consul.", 0))
	if !r.Truncated {
		t.Error("TC bit not set on a cut UDP answer with enable_truncate")
	}
	if size > dns.MinMsgSize {
		t.Errorf("response is %d bytes, more than 512", size)
	}
	if len(r.Answer) != 3 {
		t.Errorf("%d answers, want udp_answer_limit's 3", len(r.Answer))
	}
	checkExtraMatches(t, r)

	// What a stub resolver does next: the same question over TCP.
	r = exchange(t, "tcp", s.Addr(), srvQuery("big.service.consul.", 0))
	if r.Truncated || len(r.Answer) != 30 {
		t.Errorf("TCP: %d answers, TC %v; want all 30 without TC", len(r.Answer), r.Truncated)
	}
	checkExtraMatches(t, r)
}

func TestTruncateWithoutEnableTruncate(t *testing.T) {
	// Consul cuts the answer to udp_answer_limit either way; only
	// enable_truncate tells the client.
	s := startServer(t, bigConfig(false))
	r, _ := rawUDP(t, s.Addr(), srvQuery("big.service.consul.", 0))
	if r.Truncated || len(r.Answer) != 3 {
		t.Errorf("%d answers, TC %v; want 3 without TC", len(r.Answer), r.Truncated)
	}
	checkExtraMatches(t, r)
}

func TestTruncateBySize(t *testing.T) {
	// 30 A records do not fit in 512 bytes even when the answer count is
	// not limited: the size rule cuts on its own.
	cfg := bigConfig(true)
	cfg.UDPAnswerLimit = 1000
	s := startServer(t, cfg)
	m := new(dns.Msg)
	m.SetQuestion("big.service.consul.", dns.TypeA)
	r, size := rawUDP(t, s.Addr(), m)
	if !r.Truncated || size > dns.MinMsgSize || len(r.Answer) == 0 || len(r.Answer) >= 30 {
		t.Errorf("%d answers in %d bytes, TC %v; want some but not all, at most 512 bytes, TC", len(r.Answer), size, r.Truncated)
	}
	r = exchange(t, "tcp", s.Addr(), m)
	if r.Truncated || len(r.Answer) != 30 {
		t.Errorf("TCP: %d answers, TC %v; want 30", len(r.Answer), r.Truncated)
	}
}

func TestEDNS(t *testing.T) {
	s := startServer(t, bigConfig(true))
	// A 4096-byte buffer holds all 30 SRV records and their addresses.
	r, size := rawUDP(t, s.Addr(), srvQuery("big.service.consul.", 4096))
	if r.Truncated || len(r.Answer) != 30 {
		t.Errorf("EDNS0 4096: %d answers, TC %v; want all 30", len(r.Answer), r.Truncated)
	}
	if size <= dns.MinMsgSize {
		t.Errorf("EDNS0 answer of %d bytes; the test means nothing below 512", size)
	}
	opt := r.IsEdns0()
	if opt == nil || opt.UDPSize() != 4096 {
		t.Errorf("OPT record not echoed with the client's size: %v", opt)
	}
	checkExtraMatches(t, r)

	// 100 instances do not fit in 1232 bytes: cut to size, not to 3.
	r, size = rawUDP(t, s.Addr(), srvQuery("huge.service.consul.", 1232))
	if !r.Truncated || size > 1232 || len(r.Answer) <= 3 || len(r.Answer) >= 100 {
		t.Errorf("EDNS0 1232: %d answers in %d bytes, TC %v", len(r.Answer), size, r.Truncated)
	}
	if r.IsEdns0() == nil {
		t.Error("OPT record dropped while cutting")
	}
	checkExtraMatches(t, r)

	// A buffer of 512 or less is plain UDP again, answer limit included.
	r, _ = rawUDP(t, s.Addr(), srvQuery("big.service.consul.", 512))
	if len(r.Answer) != 3 || !r.Truncated {
		t.Errorf("EDNS0 512: %d answers, TC %v; want 3 with TC", len(r.Answer), r.Truncated)
	}

	// Over TCP nothing is cut.
	r = exchange(t, "tcp", s.Addr(), srvQuery("huge.service.consul.", 1232))
	if r.Truncated || len(r.Answer) != 100 {
		t.Errorf("TCP: %d answers, TC %v; want 100", len(r.Answer), r.Truncated)
	}
}

func TestECSEcho(t *testing.T) {
	s := startServer(t, DefaultConfig())
	m := new(dns.Msg)
	m.SetQuestion("web.service.consul.", dns.TypeA)
	m.SetEdns0(1232, false)
	opt := m.IsEdns0()
	opt.Option = append(opt.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("192.0.2.0").To4()})
	r := exchange(t, "udp", s.Addr(), m)
	ropt := r.IsEdns0()
	if ropt == nil || len(ropt.Option) != 1 {
		t.Fatalf("client subnet not echoed: %v", ropt)
	}
	sub := ropt.Option[0].(*dns.EDNS0_SUBNET)
	if sub.SourceNetmask != 24 || sub.SourceScope != 0 || !sub.Address.Equal(net.ParseIP("192.0.2.0")) {
		t.Errorf("echoed subnet %v, want 192.0.2.0/24 scope 0", sub)
	}
}

// TestOversizedRecord covers a single record too large for 512 bytes (a
// 600-byte node meta value): no answer fits, so TC is set even without
// enable_truncate, and TCP gets the record whole.
func TestOversizedRecord(t *testing.T) {
	s := startServer(t, DefaultConfig())
	m := new(dns.Msg)
	m.SetQuestion("fat.node.consul.", dns.TypeTXT)
	r, size := rawUDP(t, s.Addr(), m)
	if !r.Truncated || len(r.Answer) != 0 || size > dns.MinMsgSize {
		t.Errorf("UDP: %d answers in %d bytes, TC %v; want none, TC", len(r.Answer), size, r.Truncated)
	}
	r = exchange(t, "tcp", s.Addr(), m)
	if r.Truncated || len(r.Answer) != 1 {
		t.Fatalf("TCP: %d answers, TC %v; want the record", len(r.Answer), r.Truncated)
	}
	if got := strings.Join(r.Answer[0].(*dns.TXT).Txt, ""); got != "blob="+strings.Repeat("x", 600) {
		t.Errorf("TXT is %d bytes, want blob= and 600 x", len(got))
	}

	// The A answer fits; only the meta in the additional section is dropped,
	// which is not a truncation of the answer.
	m.SetQuestion("fat.node.consul.", dns.TypeA)
	r, size = rawUDP(t, s.Addr(), m)
	if r.Truncated || len(r.Answer) != 1 || len(r.Extra) != 0 || size > dns.MinMsgSize {
		t.Errorf("A: %d answers, %d extras in %d bytes, TC %v; want the A alone", len(r.Answer), len(r.Extra), size, r.Truncated)
	}
}

func TestFit(t *testing.T) {
	// fit must never leave a message larger than asked, whatever it holds.
	for _, size := range []int{512, 600, 1232, 4096} {
		for _, n := range []int{0, 1, 2, 3, 10, 40, 200} {
			m := new(dns.Msg)
			m.SetQuestion("x.service.consul.", dns.TypeSRV)
			m.Compress = true
			for i := range n {
				tg := strings.Repeat("t", 40) + string(rune('a'+i%26)) + ".node.dc1.consul."
				m.Answer = append(m.Answer, &dns.SRV{Hdr: hdr("x.service.consul.", dns.TypeSRV, 0), Priority: 1, Weight: 1, Port: uint16(i), Target: tg})
				m.Extra = append(m.Extra, &dns.TXT{Hdr: hdr(tg, dns.TypeTXT, 0), Txt: []string{strings.Repeat("v", 200)}})
			}
			m.Ns = []dns.RR{soa("consul.")}
			trimmed, empty := fit(m, size, 0)
			if m.Len() > size {
				t.Errorf("size %d, %d answers: %d bytes after fit", size, n, m.Len())
			}
			if trimmed != (len(m.Answer) < n) || empty != (n > 0 && len(m.Answer) == 0) {
				t.Errorf("size %d, %d answers: trimmed %v empty %v with %d answers left", size, n, trimmed, empty, len(m.Answer))
			}
		}
	}
}
