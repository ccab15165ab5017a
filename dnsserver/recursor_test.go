package dnsserver

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream starts a plain miekg/dns server, UDP and TCP on one port, that
// plays a recursive resolver for the tests.
func upstream(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	ln, pc, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return ln.Addr().String()
}

// resolver answers example.org and ext-host.example.org, NXDOMAIN otherwise.
func resolver(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	q := req.Question[0]
	switch {
	case q.Name == "example.org." && q.Qtype == dns.TypeA:
		m.Answer = []dns.RR{rr("example.org. 300 IN A 93.184.216.34")}
	case q.Name == "ext-host.example.org." && q.Qtype == dns.TypeA:
		m.Answer = []dns.RR{rr("ext-host.example.org. 300 IN A 198.51.100.7")}
	default:
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

func servfail(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeServerFailure)
	_ = w.WriteMsg(m)
}

// blackhole is a UDP socket that reads nothing and answers nothing: the
// recursor that times out.
func blackhole(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String()
}

func TestRecursors(t *testing.T) {
	good := upstream(t, resolver)
	bad := upstream(t, servfail)
	cfg := DefaultConfig()
	cfg.RecursorTimeout = 200 * time.Millisecond
	// Tried in order: a SERVFAIL and a timeout are passed over.
	cfg.Recursors = []string{bad, blackhole(t), good}
	s := startServer(t, cfg)

	for _, network := range []string{"udp", "tcp"} {
		r := query(t, network, s.Addr(), "example.org.", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || !r.RecursionAvailable {
			t.Errorf("%s: rcode %s RA %v", network, dns.RcodeToString[r.Rcode], r.RecursionAvailable)
		}
		sameRRs(t, network+" answer", r.Answer, []dns.RR{rr("example.org. 300 IN A 93.184.216.34")})

		// NXDOMAIN is an answer too: it comes back as it is.
		r = query(t, network, s.Addr(), "nosuch.example.", dns.TypeA)
		if r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: rcode %s, want NXDOMAIN from upstream", network, dns.RcodeToString[r.Rcode])
		}
	}

	// Answers from the zone say recursion is available, and a host name
	// address is chased through the recursors.
	r := query(t, "udp", s.Addr(), "ext.service.consul.", dns.TypeA)
	if !r.RecursionAvailable || r.Rcode != dns.RcodeSuccess {
		t.Errorf("zone answer: rcode %s RA %v", dns.RcodeToString[r.Rcode], r.RecursionAvailable)
	}
	sameRRs(t, "answer", r.Answer, []dns.RR{
		rr("ext.service.consul. 0 IN CNAME ext-host.example.org."),
		rr("ext-host.example.org. 0 IN A 198.51.100.7"),
	})
	r = query(t, "udp", s.Addr(), "ext.service.consul.", dns.TypeSRV)
	sameRRs(t, "SRV additional", r.Extra, []dns.RR{rr("ext-host.example.org. 0 IN A 198.51.100.7")})
}

func TestRecursorsDown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RecursorTimeout = 200 * time.Millisecond
	cfg.Recursors = []string{blackhole(t)}
	s := startServer(t, cfg)
	start := time.Now()
	r := query(t, "udp", s.Addr(), "example.org.", dns.TypeA)
	if r.Rcode != dns.RcodeServerFailure || !r.RecursionAvailable {
		t.Errorf("rcode %s RA %v, want SERVFAIL with RA", dns.RcodeToString[r.Rcode], r.RecursionAvailable)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SERVFAIL took %v with a 200ms recursor timeout", d)
	}
}

func TestNoRecursors(t *testing.T) {
	s := startServer(t, DefaultConfig())
	for _, network := range []string{"udp", "tcp"} {
		r := query(t, network, s.Addr(), "example.org.", dns.TypeA)
		if r.Rcode != dns.RcodeRefused || r.RecursionAvailable || len(r.Answer) != 0 {
			t.Errorf("%s: rcode %s RA %v, want REFUSED without RA", network, dns.RcodeToString[r.Rcode], r.RecursionAvailable)
		}
	}
	// Zone answers do not offer recursion either.
	if r := query(t, "udp", s.Addr(), "web.service.consul.", dns.TypeA); r.RecursionAvailable {
		t.Error("RA set without recursors")
	}
}

func TestRecursorAddr(t *testing.T) {
	for in, want := range map[string]string{
		"8.8.8.8":          "8.8.8.8:53",
		"8.8.8.8:5353":     "8.8.8.8:5353",
		"2001:db8::1":      "[2001:db8::1]:53",
		"[2001:db8::1]:54": "[2001:db8::1]:54",
		"dns.example:53":   "dns.example:53",
		"dns.example":      "dns.example:53",
	} {
		if got, err := recursorAddr(in); err != nil || got != want {
			t.Errorf("recursorAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ":53", "a:b:c:d", "host:"} {
		if got, err := recursorAddr(bad); err == nil {
			t.Errorf("recursorAddr(%q) = %q, want an error", bad, got)
		}
	}
}
