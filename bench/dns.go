package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// EDNSBufSize is the UDP payload size DNS queries advertise. Without EDNS0
// a Consul-compatible server answers at most udp_answer_limit (3) records
// in 512 bytes; with it, the whole answer of a 10-instance service fits.
const EDNSBufSize = 4096

// CheckSRVAnswer checks that m answers an SRV question the way Consul
// answers one for a service with want passing instances: no error, not
// truncated, want SRV records owned by the question's name, and for every
// SRV target an A record in the additional section; every one of those
// records with TTL 0 (Consul's default service and node TTL).
func CheckSRVAnswer(m *dns.Msg, want int) error {
	if m.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("rcode %s", dns.RcodeToString[m.Rcode])
	}
	if m.Truncated {
		return errors.New("answer truncated")
	}
	if len(m.Question) != 1 {
		return fmt.Errorf("%d questions in the answer, want 1", len(m.Question))
	}
	qname := strings.ToLower(m.Question[0].Name)
	targets := map[string]bool{}
	for _, rr := range m.Answer {
		srv, ok := rr.(*dns.SRV)
		if !ok {
			return fmt.Errorf("answer %s is not an SRV record", rr)
		}
		if strings.ToLower(srv.Hdr.Name) != qname {
			return fmt.Errorf("SRV owner %s, want %s", srv.Hdr.Name, qname)
		}
		if srv.Hdr.Ttl != 0 {
			return fmt.Errorf("SRV TTL %d, want 0", srv.Hdr.Ttl)
		}
		targets[strings.ToLower(srv.Target)] = true
	}
	if len(m.Answer) != want || len(targets) != want {
		return fmt.Errorf("%d SRV records with %d distinct targets, want %d", len(m.Answer), len(targets), want)
	}
	addrs := 0
	for _, rr := range m.Extra {
		a, ok := rr.(*dns.A)
		if !ok {
			continue // OPT, node meta TXT
		}
		if !targets[strings.ToLower(a.Hdr.Name)] {
			return fmt.Errorf("additional A record for %s, which no SRV record names", a.Hdr.Name)
		}
		if a.Hdr.Ttl != 0 {
			return fmt.Errorf("A TTL %d, want 0", a.Hdr.Ttl)
		}
		delete(targets, strings.ToLower(a.Hdr.Name))
		addrs++
	}
	if len(targets) > 0 || addrs != want {
		return fmt.Errorf("%d additional A records, want one for each of the %d SRV targets", addrs, want)
	}
	return nil
}

// SRVResponder is a bare DNS server on UDP that answers one question from
// memory with a fixed set of records: the least work a server built on
// github.com/miekg/dns can do per query (read, build a reply around
// prepared records, pack, write). Measured the same way as a real server,
// it is the ceiling that server is compared with.
type SRVResponder struct {
	srv    *dns.Server
	addr   string
	qname  string
	qtype  uint16
	answer []dns.RR
	extra  []dns.RR // without OPT: the reply's own EDNS0 record is added per query
	served atomic.Uint64
	done   chan error
}

// NewSRVResponder starts a responder on the UDP address addr (e.g.
// "127.0.0.1:0") answering tmpl's question, and only it, with tmpl's
// answer and additional records, as an authoritative, compressed reply.
// It echoes a query's EDNS0 buffer size like Consul does; any other
// question gets NXDOMAIN. The records are shared by every reply and must
// not be modified while it runs.
func NewSRVResponder(addr string, tmpl *dns.Msg) (*SRVResponder, error) {
	if len(tmpl.Question) != 1 {
		return nil, fmt.Errorf("template has %d questions, want 1", len(tmpl.Question))
	}
	r := &SRVResponder{
		qname:  strings.ToLower(tmpl.Question[0].Name),
		qtype:  tmpl.Question[0].Qtype,
		answer: tmpl.Answer,
		done:   make(chan error, 1),
	}
	for _, rr := range tmpl.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			r.extra = append(r.extra, rr)
		}
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	r.addr = pc.LocalAddr().String()
	started := make(chan struct{})
	r.srv = &dns.Server{PacketConn: pc, Handler: r, NotifyStartedFunc: func() { close(started) }}
	go func() { r.done <- r.srv.ActivateAndServe() }()
	select {
	case <-started:
		return r, nil
	case err := <-r.done:
		pc.Close()
		return nil, fmt.Errorf("bare DNS server: %w", err)
	}
}

// Addr is the responder's UDP address, host:port.
func (r *SRVResponder) Addr() string { return r.addr }

// Served is the number of queries answered with the records.
func (r *SRVResponder) Served() uint64 { return r.served.Load() }

// Close stops the responder and waits until it has.
func (r *SRVResponder) Close() error {
	err := r.srv.Shutdown()
	<-r.done
	return err
}

// ServeDNS implements dns.Handler.
func (r *SRVResponder) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.Compress = true
	if len(req.Question) == 1 && req.Question[0].Qtype == r.qtype && strings.EqualFold(req.Question[0].Name, r.qname) {
		m.Answer = r.answer
		m.Extra = r.extra[:len(r.extra):len(r.extra)] // appending copies
		r.served.Add(1)
	} else {
		m.Rcode = dns.RcodeNameError
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(max(opt.UDPSize(), dns.MinMsgSize), false)
	}
	_ = w.WriteMsg(m)
}

// DNSQuery describes the query a DNS workload repeats.
type DNSQuery struct {
	Addr  string // server, host:port (UDP)
	Name  string // e.g. "web.service.consul."
	Type  uint16 // e.g. dns.TypeSRV
	Want  int    // instances the answer must hold (see CheckSRVAnswer)
	Wait  time.Duration
	Label string // Result name; "dns" if empty
}

// fullCheckEvery is how often (in queries per client) a DNS client unpacks
// and checks a whole answer rather than its header only.
const fullCheckEvery = 1024

// DNSWorkload returns a Workload issuing q over UDP: each client dials one
// socket with miekg/dns's client and reuses it for every query. A query is
// packed once per client; each one gets a fresh ID and succeeds when the
// answer with that ID arrives with no error, not truncated, q.Want answers
// and at least q.Want additional records (answers with other IDs, late
// ones from queries that timed out, are skipped). The first answer of each
// client, and one in fullCheckEvery after it, is unpacked whole and checked
// with CheckSRVAnswer; the others are checked by their header only, so that
// the client's cost stays small next to the server's. A query not answered
// within q.Wait (1 s if zero) fails.
func DNSWorkload(q DNSQuery, concurrency int, duration time.Duration) Workload {
	label := q.Label
	if label == "" {
		label = "dns"
	}
	wait := q.Wait
	if wait <= 0 {
		wait = time.Second
	}
	return Workload{
		Name:        label,
		Concurrency: concurrency,
		Duration:    duration,
		NewClient: func(client int) (func(context.Context, int) error, func(), error) {
			c := &dns.Client{Net: "udp", UDPSize: EDNSBufSize}
			conn, err := c.Dial(q.Addr)
			if err != nil {
				return nil, nil, err
			}
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(q.Name), q.Type)
			m.SetEdns0(EDNSBufSize, false)
			wire, err := m.Pack()
			if err != nil {
				conn.Close()
				return nil, nil, err
			}
			buf := make([]byte, dns.MaxMsgSize)
			id := uint16(rand.Uint32())
			op := func(ctx context.Context, seq int) error {
				id++
				binary.BigEndian.PutUint16(wire, id)
				deadline := time.Now().Add(wait)
				if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
					deadline = d
				}
				if err := conn.SetDeadline(deadline); err != nil {
					return err
				}
				if _, err := conn.Write(wire); err != nil {
					return err
				}
				for {
					n, err := conn.Read(buf)
					if err != nil {
						return err
					}
					if n < 12 || binary.BigEndian.Uint16(buf) != id {
						continue // a stray or late answer
					}
					if seq%fullCheckEvery == 0 {
						r := new(dns.Msg)
						if err := r.Unpack(buf[:n]); err != nil {
							return err
						}
						return CheckSRVAnswer(r, q.Want)
					}
					return checkHeader(buf[:n], q.Want)
				}
			}
			return op, func() { conn.Close() }, nil
		},
	}
}

// checkHeader checks a packed answer's 12-byte header: a response, no
// error, not truncated, want answers and at least want additional records.
func checkHeader(b []byte, want int) error {
	flags := binary.BigEndian.Uint16(b[2:])
	if flags&(1<<15) == 0 {
		return errors.New("not a response")
	}
	if rc := int(flags & 0xf); rc != dns.RcodeSuccess {
		return fmt.Errorf("rcode %s", dns.RcodeToString[rc])
	}
	if flags&(1<<9) != 0 {
		return errors.New("answer truncated")
	}
	an, ar := binary.BigEndian.Uint16(b[6:]), binary.BigEndian.Uint16(b[10:])
	if int(an) != want || int(ar) < want {
		return fmt.Errorf("%d answers and %d additional records, want %d and at least %d", an, ar, want, want)
	}
	return nil
}

// LookupOnce sends one query for name and type to the UDP server addr with
// EDNS0 and returns the answer unpacked, for checking a server before it is
// measured and for taking the template of an SRVResponder.
func LookupOnce(ctx context.Context, addr, name string, qtype uint16) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", UDPSize: EDNSBufSize, Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(EDNSBufSize, false)
	r, _, err := c.ExchangeContext(ctx, m, addr)
	return r, err
}
