package wan

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// logBuffer keeps what a gateway logs.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startTLSGateway starts the gateway name with a server certificate of ca
// for datacenter certDC, verifying both ways, with verify_server_hostname
// as strict says; its log goes to the returned buffer.
func startTLSGateway(t *testing.T, ca *tlstest.CA, name, certDC string, strict bool) (*Gateway, *logBuffer) {
	t.Helper()
	cert, key := ca.Cert(t, tlsutil.KindServer, certDC)
	w, err := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key,
		VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: strict}.WANConfig("consul")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	g, err := StartGateway(GatewayConfig{Name: name, Host: "127.0.0.1", Advertise: "127.0.0.1", TLS: w,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Shutdown)
	return g, logs
}

func setRemotes(t *testing.T, g *Gateway, remotes map[string]Remote) {
	t.Helper()
	if err := g.SetRemotes(remotes); err != nil {
		t.Fatal(err)
	}
}

// With verify_server_hostname, a gateway dialed as a server of dc2 must
// present dc2's server certificate: a server of dc3 (a valid certificate
// of the same CA) at the address where dc2's server is expected is
// refused, and does not link, while dc2's own server links.
func TestGatewayChecksTheDialedDatacenter(t *testing.T) {
	ca := tlstest.NewCA(t)
	g1, log1 := startTLSGateway(t, ca, "s1_dc1", "dc1", true)
	g2, _ := startTLSGateway(t, ca, "s2_dc2", "dc2", true)
	impostor, _ := startTLSGateway(t, ca, "s3_dc2", "dc3", true)
	setRemotes(t, g1, map[string]Remote{"s2_dc2": remote(g2, "dc2"), "s3_dc2": remote(impostor, "dc2")})
	setRemotes(t, g2, map[string]Remote{"s1_dc1": remote(g1, "dc1")})
	setRemotes(t, impostor, map[string]Remote{"s1_dc1": remote(g1, "dc1")})
	poll.Eventually(t, 20*time.Second, "dc2's server linked with dc1's", func() (bool, string) {
		return g1.Linked()["s2_dc2"] && g2.Linked()["s1_dc1"], fmt.Sprint(g1.Linked(), g2.Linked())
	})
	poll.Eventually(t, 20*time.Second, "dc1's log says why the server at dc2's address is refused", func() (bool, string) {
		return strings.Contains(log1.String(), "not server.dc2.consul"), log1.String()
	})
	if g1.Linked()["s3_dc2"] || impostor.Linked()["s1_dc1"] {
		t.Errorf("a server of dc3 linked as dc2's: %v %v", g1.Linked(), impostor.Linked())
	}
}

// A gateway that NATS learns of from another one, not given to
// SetRemotes, is not linked with when names are checked (its datacenter,
// hence the name its certificate must carry, is unknown), and is with
// verify_outgoing alone (the CA is checked, which needs no datacenter).
func TestGatewayLinksOnlyConfiguredRemotes(t *testing.T) {
	for _, strict := range []bool{true, false} {
		t.Run(fmt.Sprintf("verify_server_hostname=%v", strict), func(t *testing.T) {
			ca := tlstest.NewCA(t)
			g1, _ := startTLSGateway(t, ca, "s1_dc1", "dc1", strict)
			g3, log3 := startTLSGateway(t, ca, "s3_dc3", "dc3", strict)
			// g1 dials g3, which was not told of g1.
			setRemotes(t, g1, map[string]Remote{"s3_dc3": remote(g3, "dc3")})
			if !strict {
				poll.Eventually(t, 20*time.Second, "g3 linked back with g1", func() (bool, string) {
					return g1.Linked()["s3_dc3"] && g3.Linked()["s1_dc1"], fmt.Sprint(g1.Linked(), g3.Linked())
				})
				return
			}
			poll.Eventually(t, 20*time.Second, "g3 refuses g1", func() (bool, string) {
				l := log3.String()
				return strings.Contains(l, `Rejecting connection from gateway \"s1_dc1\"`) ||
					strings.Contains(l, "the datacenter of this server is unknown"), l
			})
			if g1.Linked()["s3_dc3"] || g3.Linked()["s1_dc1"] {
				t.Errorf("a gateway g3 was not told of linked: %v %v", g1.Linked(), g3.Linked())
			}
			// Told of g1, g3 links.
			setRemotes(t, g3, map[string]Remote{"s1_dc1": remote(g1, "dc1")})
			poll.Eventually(t, 20*time.Second, "g3 linked with g1 once told of it", func() (bool, string) {
				return g1.Linked()["s3_dc3"] && g3.Linked()["s1_dc1"], fmt.Sprint(g1.Linked(), g3.Linked())
			})
		})
	}
}
