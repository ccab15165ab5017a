package dnsserver

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// testCase is one question over one transport and the whole response it
// must get, CoreDNS style. Cases run in process through Answer: what they
// test is the answer, not the sockets (server_test.go and dig_test.go test
// those). Records are compared as zone-file strings, sorted, because Consul
// shuffles answers.
type testCase struct {
	Qname string
	Qtype uint16
	// Net is "udp" or "tcp"; "" asks over both, for answers small enough
	// that the transports must agree.
	Net string
	// EDNS is the buffer size the client advertises in an OPT record; 0
	// sends none (a plain 512-byte UDP client).
	EDNS uint16

	Rcode int
	// AA and TC are the header bits wanted.
	AA, TC bool
	Answer []dns.RR
	Ns     []dns.RR
	Extra  []dns.RR
	// Answers, when not 0, stands for Answer, Ns and Extra in a response
	// cut to fit: it is how many answers are kept, a random subset of the
	// shuffled instances. The additional section must then hold the address
	// of every SRV target kept and nothing for a record that was dropped.
	Answers int
}

// newServer builds a server that is never started: cases ask it through
// Answer. A Config without a Catalog answers from the fixture.
func newServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Catalog == nil {
		cfg.Catalog = fixture().catalog()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// runCases asks every case of the table of a server built from cfg.
func runCases(t *testing.T, cfg Config, cases []testCase) {
	t.Helper()
	s := newServer(t, cfg)
	for _, tc := range cases {
		nets := []string{tc.Net}
		if tc.Net == "" {
			nets = []string{"udp", "tcp"}
		}
		for _, network := range nets {
			name := network
			if tc.EDNS > 0 {
				name += fmt.Sprintf("+edns%d", tc.EDNS)
			}
			t.Run(name+"/"+tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
				tc.check(t, ask(t, s, network, tc.Qname, tc.Qtype, tc.EDNS))
			})
		}
	}
}

// ask puts one question to s as a client on network would, and returns the
// response as the client reads it: packed (so that its size is checked
// against what the transport carries) and unpacked again.
func ask(t *testing.T, s *Server, network, qname string, qtype, edns uint16) *dns.Msg {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(qname, qtype)
	limit := dns.MaxMsgSize
	if network == "udp" {
		limit = dns.MinMsgSize
	}
	if edns > 0 {
		req.SetEdns0(edns, false)
		if network == "udp" {
			limit = max(limit, min(int(edns), maxUDPPayload))
		}
	}
	b, err := s.Answer(req, network == "tcp").Pack()
	if err != nil {
		t.Fatalf("response does not pack: %v", err)
	}
	if len(b) > limit {
		t.Errorf("response is %d bytes, more than the %d a %s client takes", len(b), limit, network)
	}
	r := new(dns.Msg)
	if err := r.Unpack(b); err != nil {
		t.Fatalf("response does not unpack: %v", err)
	}
	if r.Id != req.Id || !r.Response {
		t.Errorf("response id %d (QR %v) to query %d", r.Id, r.Response, req.Id)
	}
	opt := r.IsEdns0()
	switch {
	case edns == 0 && opt != nil:
		t.Errorf("OPT record in the response to a query without one: %v", opt)
	case edns > 0 && (opt == nil || opt.UDPSize() != max(edns, dns.MinMsgSize)):
		t.Errorf("OPT record not echoed with the client's size %d: %v", edns, opt)
	}
	return r
}

func (tc testCase) check(t *testing.T, r *dns.Msg) {
	t.Helper()
	if r.Rcode != tc.Rcode {
		t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.Rcode])
	}
	if r.Authoritative != tc.AA {
		t.Errorf("AA bit %v, want %v", r.Authoritative, tc.AA)
	}
	if r.Truncated != tc.TC {
		t.Errorf("TC bit %v, want %v", r.Truncated, tc.TC)
	}
	if tc.Answers != 0 {
		if len(r.Answer) != tc.Answers {
			t.Errorf("%d answers, want %d", len(r.Answer), tc.Answers)
		}
		checkExtraMatches(t, r)
		return
	}
	sameRRs(t, "answer", r.Answer, tc.Answer)
	sameRRs(t, "authority", r.Ns, tc.Ns)
	sameRRs(t, "additional", r.Extra, tc.Extra)
}

// checkExtraMatches asserts that each SRV target kept has its address in the
// additional section, and that every additional record belongs to an answer
// still there (an SRV target, or the owner of an answer, for node meta).
func checkExtraMatches(t *testing.T, r *dns.Msg) {
	t.Helper()
	names, targets := map[string]bool{}, map[string]bool{}
	for _, a := range r.Answer {
		names[strings.ToLower(a.Header().Name)] = true
		if srv, ok := a.(*dns.SRV); ok {
			targets[strings.ToLower(srv.Target)] = true
		}
	}
	addressed := map[string]bool{}
	for _, e := range r.Extra {
		name := strings.ToLower(e.Header().Name)
		switch e.Header().Rrtype {
		case dns.TypeOPT:
			continue
		case dns.TypeA, dns.TypeAAAA:
			addressed[name] = true
		}
		if !targets[name] && !names[name] {
			t.Errorf("additional %s, which no answer refers to", e)
		}
	}
	for tg := range targets {
		if !addressed[tg] {
			t.Errorf("no additional address for target %s", tg)
		}
	}
}

// canon renders records for comparison: sorted (answers are shuffled),
// OPT left out, SOA serials zeroed (they are the clock).
func canon(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, r := range rrs {
		if r.Header().Rrtype == dns.TypeOPT {
			continue
		}
		if soa, ok := r.(*dns.SOA); ok {
			c := *soa
			c.Serial = 0
			r = &c
		}
		out = append(out, r.String())
	}
	sort.Strings(out)
	return out
}

func sameRRs(t *testing.T, section string, got, want []dns.RR) {
	t.Helper()
	g, w := canon(got), canon(want)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s section:\n got: %s\nwant: %s", section, strings.Join(g, "\n      "), strings.Join(w, "\n      "))
	}
}
