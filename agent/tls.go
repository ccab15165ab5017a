package agent

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/heraldhq/herald/httpapi"
)

// TLS of the agent's listeners and connections, from the tls block
// (config.TLS): the HTTPS API here; Raft and NATS in their own functions
// below.

// startHTTPS serves the API on ports.https at addresses.https with the
// tls.https section: its certificate, and with verify_incoming a client
// certificate signed by its CA required of every connection.
func (a *Agent) startHTTPS(api *httpapi.Server) error {
	if a.cfg.Ports.HTTPS < 0 {
		return nil
	}
	tc, err := a.cfg.TLS.HTTPS.ServerConfig()
	if err != nil {
		return fmt.Errorf("HTTPS API: tls.https: %w", err)
	}
	for _, host := range strings.Fields(a.cfg.Addresses.HTTPS) {
		ln, err := listenClient(host, a.cfg.Ports.HTTPS, a.cfg.UnixSockets)
		if err != nil {
			return fmt.Errorf("HTTPS API: %w", err)
		}
		srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tc,
			// A refused handshake (no client certificate, another CA) is
			// the client's problem: debug, not the process's stderr.
			ErrorLog: slog.NewLogLogger(a.log.With("component", "https").Handler(), slog.LevelDebug)}
		a.httpServers = append(a.httpServers, srv)
		a.httpsAddrs = append(a.httpsAddrs, ln.Addr())
		go srv.Serve(tls.NewListener(ln, tc))
	}
	return nil
}

// HTTPSAddr is the address the HTTPS API listens on (the first, if
// several); "" without ports.https.
func (a *Agent) HTTPSAddr() string {
	if len(a.httpsAddrs) == 0 {
		return ""
	}
	return httpAddrString(a.httpsAddrs[0])
}

// httpsDebugAddrs adds the HTTPS listener to /v1/agent/self's DebugConfig
// as Consul spells it: HTTPSAddrs, and HTTPSPort (the bound one).
func (a *Agent) httpsDebugAddrs(out map[string]any) {
	addrs := []string{}
	for _, addr := range a.httpsAddrs {
		addrs = append(addrs, addr.Network()+"://"+addr.String())
	}
	out["HTTPSAddrs"] = addrs
	out["HTTPSPort"] = a.cfg.Ports.HTTPS
	if len(a.httpsAddrs) > 0 {
		if tcp, ok := a.httpsAddrs[0].(*net.TCPAddr); ok {
			out["HTTPSPort"] = tcp.Port
		}
	}
}
