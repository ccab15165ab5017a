package checks

import (
	"context"
	"fmt"
	"net"

	"github.com/heraldhq/herald/event"
)

// tcpProber runs TCP checks: passing if a connection to addr is accepted
// within the timeout. A name resolving to several addresses passes if any
// of them accepts (the dialer tries them in turn).
type tcpProber struct{ addr string }

func (p tcpProber) probe(ctx context.Context) (string, string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return event.HealthCritical, err.Error()
	}
	conn.Close()
	return event.HealthPassing, fmt.Sprintf("TCP connect %s: Success", p.addr)
}
