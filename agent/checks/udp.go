package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/heraldhq/herald/event"
)

// udpPayload is the datagram a UDP check sends. UDP services have no common
// "are you there" message, so any short payload does; most will ignore it
// or answer with an error, and either proves the port is served.
var udpPayload = []byte("herald health check\n")

// udpProber runs UDP checks, following Consul's documented rule: send a
// datagram and wait for a reply until the timeout; any reply passes, and so
// does silence until the timeout, because UDP services need not answer.
// What fails is an error, above all "connection refused": the ICMP port
// unreachable that a host sends back when nothing listens on the port,
// which the kernel reports on the connected socket.
type udpProber struct{ addr string }

func (p udpProber) probe(ctx context.Context) (string, string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", p.addr)
	if err != nil {
		return event.HealthCritical, err.Error()
	}
	defer conn.Close()
	// Socket reads ignore contexts: bound them by the run's deadline, and
	// cut them short if the check is removed meanwhile.
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	if _, err := conn.Write(udpPayload); err != nil {
		return event.HealthCritical, err.Error()
	}
	buf := make([]byte, 512)
	_, err = conn.Read(buf)
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		return event.HealthCritical, err.Error()
	}
	return event.HealthPassing, fmt.Sprintf("UDP connect %s: Success", p.addr)
}
