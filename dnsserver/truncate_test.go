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

// TestTruncationOnTheWire checks, through real sockets, what the tables in
// process cannot: that the listeners send a cut answer within 512 bytes, a
// large EDNS0 answer whole in one datagram, and everything over TCP.
func TestTruncationOnTheWire(t *testing.T) {
	s := startServer(t, bigConfig(true))
	r, size := rawUDP(t, s.Addr(), srvQuery("big.service.consul.", 0))
	if !r.Truncated || len(r.Answer) != 3 || size > dns.MinMsgSize {
		t.Errorf("plain UDP: %d answers in %d bytes, TC %v; want udp_answer_limit's 3 in at most 512, TC", len(r.Answer), size, r.Truncated)
	}
	checkExtraMatches(t, r)

	r, size = rawUDP(t, s.Addr(), srvQuery("big.service.consul.", 4096))
	if r.Truncated || len(r.Answer) != 30 || size <= dns.MinMsgSize {
		t.Errorf("EDNS0 4096: %d answers in %d bytes, TC %v; want all 30 in one datagram", len(r.Answer), size, r.Truncated)
	}

	// What a stub resolver does after TC: the same question over TCP.
	r = exchange(t, "tcp", s.Addr(), srvQuery("big.service.consul.", 0))
	if r.Truncated || len(r.Answer) != 30 {
		t.Errorf("TCP: %d answers, TC %v; want all 30 without TC", len(r.Answer), r.Truncated)
	}
	checkExtraMatches(t, r)
}

// TestTruncation is the table of cut answers: udp_answer_limit on plain
// UDP, the size rule, the client's EDNS0 buffer, and TCP, which is never cut.
func TestTruncation(t *testing.T) {
	t.Run("enable_truncate", func(t *testing.T) {
		runCases(t, bigConfig(true), []testCase{
			// Plain UDP: udp_answer_limit's 3, and TC so that the client
			// retries over TCP, where it gets all 30.
			{Qname: "big.service.consul.", Qtype: dns.TypeSRV, Net: "udp", AA: true, TC: true, Answers: 3},
			{Qname: "big.service.consul.", Qtype: dns.TypeSRV, Net: "tcp", AA: true, Answers: 30},
			{Qname: "big.service.consul.", Qtype: dns.TypeA, Net: "udp", AA: true, TC: true, Answers: 3},
			{Qname: "big.service.consul.", Qtype: dns.TypeA, Net: "tcp", AA: true, Answers: 30},
			// A small answer is not cut.
			{Qname: "web.service.consul.", Qtype: dns.TypeA, Net: "udp", AA: true, Answer: []dns.RR{
				rr("web.service.consul. 0 IN A 10.0.0.1"),
				rr("web.service.consul. 0 IN A 10.0.0.2"),
			}},
			// EDNS0 4096 holds all 30 SRV records and their addresses, far
			// beyond 512 bytes and udp_answer_limit.
			{Qname: "big.service.consul.", Qtype: dns.TypeSRV, Net: "udp", EDNS: 4096, AA: true, Answers: 30},
			// 100 instances do not fit in 1232 bytes: cut to size (as many as
			// fit), not to 3.
			{Qname: "huge.service.consul.", Qtype: dns.TypeSRV, Net: "udp", EDNS: 1232, AA: true, TC: true, Answers: 14},
			{Qname: "huge.service.consul.", Qtype: dns.TypeA, Net: "udp", EDNS: 1232, AA: true, TC: true, Answers: 74},
			// A buffer of 512 or less is plain UDP again, answer limit
			// included (RFC 6891 reads a smaller one as 512).
			{Qname: "big.service.consul.", Qtype: dns.TypeSRV, Net: "udp", EDNS: 512, AA: true, TC: true, Answers: 3},
			{Qname: "big.service.consul.", Qtype: dns.TypeSRV, Net: "udp", EDNS: 256, AA: true, TC: true, Answers: 3},
			// TCP is never cut, whatever the client's EDNS0 buffer.
			{Qname: "huge.service.consul.", Qtype: dns.TypeSRV, Net: "tcp", EDNS: 1232, AA: true, Answers: 100},
		})
	})
	t.Run("without enable_truncate", func(t *testing.T) {
		// Consul cuts the answer to udp_answer_limit either way; only
		// enable_truncate tells the client.
		runCases(t, bigConfig(false), []testCase{
			{Qname: "big.service.consul.", Qtype: dns.TypeSRV, Net: "udp", AA: true, Answers: 3},
			{Qname: "big.service.consul.", Qtype: dns.TypeSRV, Net: "tcp", AA: true, Answers: 30},
			{Qname: "huge.service.consul.", Qtype: dns.TypeSRV, Net: "udp", EDNS: 1232, AA: true, Answers: 14},
		})
	})
	t.Run("by size", func(t *testing.T) {
		// 30 A records do not fit in 512 bytes even when the answer count
		// is not limited: the size rule cuts on its own.
		cfg := bigConfig(true)
		cfg.UDPAnswerLimit = 1000
		runCases(t, cfg, []testCase{
			{Qname: "big.service.consul.", Qtype: dns.TypeA, Net: "udp", AA: true, TC: true, Answers: 29},
			{Qname: "big.service.consul.", Qtype: dns.TypeA, Net: "tcp", AA: true, Answers: 30},
		})
	})
	t.Run("oversized record", func(t *testing.T) {
		// A single record too large for 512 bytes (a 600-byte node meta
		// value): no answer fits, so TC is set even without
		// enable_truncate, and TCP gets the record whole. The A answer
		// fits; only the meta in the additional section is dropped, which
		// is not a truncation of the answer.
		blob := &dns.TXT{Hdr: hdr("fat.node.consul.", dns.TypeTXT, 0), Txt: txtStrings("blob=" + strings.Repeat("x", 600))}
		runCases(t, DefaultConfig(), []testCase{
			{Qname: "fat.node.consul.", Qtype: dns.TypeTXT, Net: "udp", AA: true, TC: true},
			{Qname: "fat.node.consul.", Qtype: dns.TypeTXT, Net: "tcp", AA: true, Answer: []dns.RR{blob}},
			{Qname: "fat.node.consul.", Qtype: dns.TypeTXT, Net: "udp", EDNS: 1232, AA: true, Answer: []dns.RR{blob}},
			{Qname: "fat.node.consul.", Qtype: dns.TypeA, Net: "udp", AA: true, Answer: []dns.RR{rr("fat.node.consul. 0 IN A 10.0.0.8")}},
			{Qname: "fat.node.consul.", Qtype: dns.TypeA, Net: "tcp", AA: true,
				Answer: []dns.RR{rr("fat.node.consul. 0 IN A 10.0.0.8")}, Extra: []dns.RR{blob}},
		})
	})
}

func TestECSEcho(t *testing.T) {
	s := newServer(t, DefaultConfig())
	m := new(dns.Msg)
	m.SetQuestion("web.service.consul.", dns.TypeA)
	m.SetEdns0(1232, false)
	opt := m.IsEdns0()
	opt.Option = append(opt.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("192.0.2.0").To4()})
	ropt := s.Answer(m, false).IsEdns0()
	if ropt == nil || len(ropt.Option) != 1 {
		t.Fatalf("client subnet not echoed: %v", ropt)
	}
	sub := ropt.Option[0].(*dns.EDNS0_SUBNET)
	if sub.SourceNetmask != 24 || sub.SourceScope != 0 || !sub.Address.Equal(net.ParseIP("192.0.2.0")) {
		t.Errorf("echoed subnet %v, want 192.0.2.0/24 scope 0", sub)
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
