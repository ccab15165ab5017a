package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/heraldhq/herald/event"
	"golang.org/x/net/http2"
)

// h2pingProber runs H2PING checks: open an HTTP/2 connection to addr (over
// TLS, negotiating h2, or in clear text with prior knowledge) and send a
// PING frame; passing if the server acknowledges it within the timeout.
type h2pingProber struct {
	addr string
	tls  *tls.Config // nil for h2c
}

func newH2PingProber(d Definition) *h2pingProber {
	p := &h2pingProber{addr: d.H2Ping}
	if d.H2PingUseTLS {
		name := d.TLSServerName
		if name == "" {
			name, _, _ = net.SplitHostPort(d.H2Ping)
		}
		p.tls = &tls.Config{
			InsecureSkipVerify: d.TLSSkipVerify,
			ServerName:         name,
			NextProtos:         []string{http2.NextProtoTLS},
		}
	}
	return p
}

func (p *h2pingProber) probe(ctx context.Context) (string, string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return event.HealthCritical, err.Error()
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if p.tls != nil {
		tc := tls.Client(conn, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return event.HealthCritical, err.Error()
		}
		if proto := tc.ConnectionState().NegotiatedProtocol; proto != http2.NextProtoTLS {
			tc.Close()
			return event.HealthCritical, fmt.Sprintf("HTTP2 ping to %s failed: server did not negotiate h2 (got %q)", p.addr, proto)
		}
		conn = tc
	}
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		conn.Close()
		return event.HealthCritical, err.Error()
	}
	defer cc.Close()
	if err := cc.Ping(ctx); err != nil {
		return event.HealthCritical, fmt.Sprintf("HTTP2 ping to %s failed: %v", p.addr, err)
	}
	return event.HealthPassing, "HTTP2 ping was successful"
}
