package dnsserver

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkSRV10 asks for the SRV records of a service with 10 passing
// instances through the real UDP socket, from parallel clients that each
// keep one socket. EDNS0 lets the whole answer (10 SRV, 10 A, OPT) through,
// so every query builds, shuffles and packs all of it.
func BenchmarkSRV10(b *testing.B) {
	benchmarkSRV10(b, world{}.big("web", 10).catalog())
}

// BenchmarkSRV10Packed is BenchmarkSRV10 from the catalog projection,
// whose answers are packed once per index and rotated (cache.go): the
// same query served from the cache.
func BenchmarkSRV10Packed(b *testing.B) {
	benchmarkSRV10(b, FromProjection(projectionWith(world{}.big("web", 10))))
}

func benchmarkSRV10(b *testing.B, cat Catalog) {
	cfg := DefaultConfig()
	cfg.Catalog = cat
	s := startServer(b, cfg)
	req := srvQuery("web.service.consul.", 4096)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Net: "udp", UDPSize: 4096, Timeout: 5 * time.Second}
		conn, err := c.Dial(s.Addr())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		for pb.Next() {
			r, _, err := c.ExchangeWithConn(req, conn)
			if err != nil {
				b.Error(err)
				return
			}
			if len(r.Answer) != 10 {
				b.Errorf("%d answers, want 10", len(r.Answer))
				return
			}
		}
	})
}

// BenchmarkSRV10Answer is the same query without sockets: the cost of the
// answer itself.
func BenchmarkSRV10Answer(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Catalog = world{}.big("web", 10).catalog()
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	req := srvQuery("web.service.consul.", 4096)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := s.Answer(req, false)
			if _, err := m.Pack(); err != nil || len(m.Answer) != 10 {
				b.Errorf("%d answers, pack error %v", len(m.Answer), err)
				return
			}
		}
	})
}
