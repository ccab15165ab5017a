package bench

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// srvTemplate builds the answer a Consul agent gives for name with n
// passing instances on nodes n0..n(n-1): n SRV records and an A record for
// each target, all with TTL 0.
func srvTemplate(name string, n int) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeSRV)
	for i := range n {
		target := InstanceNode(i) + ".node.dc1.consul."
		m.Answer = append(m.Answer, &dns.SRV{
			Hdr:      dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeSRV, Class: dns.ClassINET},
			Priority: 1, Weight: 1, Port: 8080, Target: target,
		})
		m.Extra = append(m.Extra, &dns.A{
			Hdr: dns.RR_Header{Name: target, Rrtype: dns.TypeA, Class: dns.ClassINET},
			A:   net.ParseIP(InstanceAddress(i)),
		})
	}
	return m
}

func startResponder(t *testing.T, tmpl *dns.Msg) *SRVResponder {
	t.Helper()
	r, err := NewSRVResponder("127.0.0.1:0", tmpl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestSRVResponderAnswersOverUDP(t *testing.T) {
	r := startResponder(t, srvTemplate("web.service.consul", 10))
	ctx := context.Background()

	m, err := LookupOnce(ctx, r.Addr(), "WEB.service.consul", dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSRVAnswer(m, 10); err != nil {
		t.Errorf("answer: %v\n%s", err, m)
	}
	if !m.Authoritative {
		t.Error("answer is not authoritative")
	}
	if opt := m.IsEdns0(); opt == nil || opt.UDPSize() != EDNSBufSize {
		t.Errorf("EDNS0 not echoed with %d: %v", EDNSBufSize, opt)
	}
	// All 10 A records and one OPT, nothing more.
	if len(m.Extra) != 11 {
		t.Errorf("%d additional records, want 11", len(m.Extra))
	}
	for i, rr := range m.Answer {
		if want := InstanceNode(i) + ".node.dc1.consul."; rr.(*dns.SRV).Target != want {
			t.Errorf("answer %d targets %s, want %s", i, rr.(*dns.SRV).Target, want)
		}
	}

	// Anything else is NXDOMAIN and not counted as served.
	m, err = LookupOnce(ctx, r.Addr(), "db.service.consul", dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rcode != dns.RcodeNameError || len(m.Answer) != 0 {
		t.Errorf("other name: rcode %s with %d answers, want NXDOMAIN and none", dns.RcodeToString[m.Rcode], len(m.Answer))
	}
	m, err = LookupOnce(ctx, r.Addr(), "web.service.consul", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rcode != dns.RcodeNameError {
		t.Errorf("other type: rcode %s, want NXDOMAIN", dns.RcodeToString[m.Rcode])
	}
	if got := r.Served(); got != 1 {
		t.Errorf("served %d, want 1", got)
	}

	// Without EDNS0 there is no OPT in the answer.
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	q := new(dns.Msg)
	q.SetQuestion("web.service.consul.", dns.TypeSRV)
	m, _, err = c.Exchange(q, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if m.IsEdns0() != nil {
		t.Error("OPT record in the answer to a query without EDNS0")
	}
}

func TestCheckSRVAnswer(t *testing.T) {
	good := func() *dns.Msg { return srvTemplate("web.service.consul", 3) }
	if err := CheckSRVAnswer(good(), 3); err != nil {
		t.Fatalf("good answer refused: %v", err)
	}
	cases := map[string]func(m *dns.Msg){
		"fewer answers":  func(m *dns.Msg) { m.Answer = m.Answer[:2] },
		"missing A":      func(m *dns.Msg) { m.Extra = m.Extra[:2] },
		"stray A":        func(m *dns.Msg) { m.Extra[0].Header().Name = "other.node.dc1.consul." },
		"SRV TTL":        func(m *dns.Msg) { m.Answer[1].Header().Ttl = 30 },
		"A TTL":          func(m *dns.Msg) { m.Extra[2].Header().Ttl = 30 },
		"truncated":      func(m *dns.Msg) { m.Truncated = true },
		"servfail":       func(m *dns.Msg) { m.Rcode = dns.RcodeServerFailure },
		"other owner":    func(m *dns.Msg) { m.Answer[0].Header().Name = "db.service.consul." },
		"same target":    func(m *dns.Msg) { m.Answer[1].(*dns.SRV).Target = m.Answer[0].(*dns.SRV).Target },
		"not SRV":        func(m *dns.Msg) { m.Answer[0] = m.Extra[0] },
		"want more":      func(m *dns.Msg) { m.Answer, m.Extra = m.Answer[:0], m.Extra[:0] },
		"extra question": func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) },
	}
	for name, spoil := range cases {
		m := good()
		spoil(m)
		if err := CheckSRVAnswer(m, 3); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCheckHeader(t *testing.T) {
	m := srvTemplate("web.service.consul", 4)
	m.Response = true
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkHeader(wire, 4); err != nil {
		t.Fatalf("good header refused: %v", err)
	}
	if err := checkHeader(wire, 5); err == nil {
		t.Error("4 answers accepted for 5")
	}
	for name, mut := range map[string]func(b []byte){
		"query":     func(b []byte) { b[2] &^= 0x80 },
		"truncated": func(b []byte) { b[2] |= 0x02 },
		"refused":   func(b []byte) { b[3] |= dns.RcodeRefused },
		"no extras": func(b []byte) { binary.BigEndian.PutUint16(b[10:], 0) },
	} {
		b := append([]byte(nil), wire...)
		mut(b)
		if err := checkHeader(b, 4); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDNSWorkload(t *testing.T) {
	r := startResponder(t, srvTemplate("web.service.consul", 10))
	w := DNSWorkload(DNSQuery{Addr: r.Addr(), Name: "web.service.consul", Type: dns.TypeSRV, Want: 10}, 4, 0)
	w.Count = fullCheckEvery + 500 // both the whole-answer and the header checks
	res, err := RunWorkload(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != uint64(w.Count) || res.Errors != 0 {
		t.Fatalf("ops %d errors %d (%s), want %d and 0", res.Ops, res.Errors, res.FirstError, w.Count)
	}
	if r.Served() != uint64(w.Count) {
		t.Errorf("responder served %d, want %d", r.Served(), w.Count)
	}
	if res.Op != "dns" || res.P50 <= 0 || res.Max < res.P99 {
		t.Errorf("result op %q p50 %v p99 %v max %v", res.Op, res.P50, res.P99, res.Max)
	}

	// A shorter answer than wanted fails every query, on the whole-answer
	// check and on the header check alike.
	w = DNSWorkload(DNSQuery{Addr: r.Addr(), Name: "web.service.consul", Type: dns.TypeSRV, Want: 11, Label: "x"}, 1, 0)
	w.Count = fullCheckEvery + 2
	res, err = RunWorkload(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 0 || res.Errors != uint64(w.Count) || res.Op != "x" {
		t.Errorf("want 11: ops %d errors %d op %q", res.Ops, res.Errors, res.Op)
	}
	if !strings.Contains(res.FirstError, "want 11") {
		t.Errorf("first error %q", res.FirstError)
	}

	// A server that never answers times queries out.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	w = DNSWorkload(DNSQuery{Addr: pc.LocalAddr().String(), Name: "web.service.consul", Type: dns.TypeSRV, Want: 10, Wait: 20 * time.Millisecond}, 2, 0)
	w.Count = 4
	res, _ = RunWorkload(context.Background(), w)
	if res.Errors != 4 || !strings.Contains(res.FirstError, "timeout") {
		t.Errorf("silent server: errors %d (%s), want 4 timeouts", res.Errors, res.FirstError)
	}
}
