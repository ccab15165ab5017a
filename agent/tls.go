package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/httpapi"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/watch"
)

// TLS of the agent's listeners and connections, from the tls block
// (config.TLS): the HTTPS API here; Raft and NATS in their own functions
// below.

// startHTTPS serves the API on ports.https at addresses.https, when
// tls.https has a certificate, with the tls.https section: its
// certificate, and with verify_incoming a client certificate signed by its
// CA required of every connection.
func (a *Agent) startHTTPS(api *httpapi.Server) error {
	if a.cfg.Ports.HTTPS < 0 || !a.cfg.TLS.HTTPS.HasCert() {
		return nil // without a certificate: a warning at load (config.warnHTTPSWithoutCert)
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

// raftTLS is Raft's mutual TLS when tls.internal_rpc asks for verification
// (verify_incoming or verify_outgoing); nil otherwise. Dragonboat verifies
// both ways or not at all and needs the CA as one file, so a ca_path is
// gathered into one in the data dir.
func (a *Agent) raftTLS() (*hlog.TLS, error) {
	p := a.cfg.TLS.InternalRPC
	if !p.VerifyIncoming && !p.VerifyOutgoing {
		return nil, nil
	}
	if !p.HasCA() || !p.HasCert() {
		return nil, errors.New("raft: with verify_incoming or verify_outgoing, servers use mutual TLS: " +
			"tls.internal_rpc (or tls.defaults) needs ca_file or ca_path, cert_file and key_file")
	}
	caFile := p.CAFile
	if caFile == "" {
		cas, err := tlsutil.ReadCAs("", p.CAPath)
		if err != nil {
			return nil, fmt.Errorf("raft: tls.internal_rpc: %w", err)
		}
		var all []byte
		for _, ca := range cas {
			all = append(all, ca.PEM...)
			all = append(all, '\n')
		}
		caFile = filepath.Join(a.dataDir, "raft-ca.pem")
		if err := os.WriteFile(caFile, all, 0o600); err != nil {
			return nil, fmt.Errorf("raft: gather ca_path into one file: %w", err)
		}
	}
	return &hlog.TLS{CAFile: caFile, CertFile: p.CertFile, KeyFile: p.KeyFile}, nil
}

// embeddedNATSTLS sets the TLS of this server's NATS from tls.internal_rpc:
// with a certificate, the client port takes TLS only (and with
// verify_incoming, only clients with a certificate of the CA); with a
// certificate and a CA, the routes between servers are mutual TLS.
func (a *Agent) embeddedNATSTLS(sc *watch.ServerConfig) error {
	p := a.cfg.TLS.InternalRPC
	if !p.HasCert() {
		return nil
	}
	tc, err := p.ServerConfig()
	if err != nil {
		return fmt.Errorf("embedded NATS: tls.internal_rpc: %w", err)
	}
	sc.TLS = tc
	if len(sc.Routes) == 0 {
		return nil
	}
	if !p.HasCA() {
		a.log.Warn("the NATS routes between servers are not encrypted: tls.internal_rpc has a certificate but no CA to verify the other servers'")
		return nil
	}
	// Routes always verify both ways, whatever verify_incoming says.
	routes := p
	routes.VerifyIncoming, routes.VerifyOutgoing = true, true
	ctc, err := routes.ClientConfig(a.cfg.Datacenter, a.cfg.Domain)
	if err != nil {
		return fmt.Errorf("embedded NATS routes: tls.internal_rpc: %w", err)
	}
	stc, err := routes.ServerConfig()
	if err != nil {
		return fmt.Errorf("embedded NATS routes: tls.internal_rpc: %w", err)
	}
	ctc.ClientCAs, ctc.ClientAuth = stc.ClientCAs, stc.ClientAuth
	sc.ClusterTLS = ctc
	return nil
}

// natsTLSOptions are the options of this agent's connections to NATS (its
// own server's, or the servers' on a client agent): with tls.internal_rpc
// configured (a CA or a certificate), TLS presenting this agent's
// certificate and verifying the server as verify_outgoing and
// verify_server_hostname say. With nats_url the same applies to the
// external NATS: its certificate must then pass the same checks.
func (a *Agent) natsTLSOptions() ([]nats.Option, error) {
	p := a.cfg.TLS.InternalRPC
	if !p.Enabled() || a.natsServer != nil && !p.HasCert() {
		// This server's own NATS takes TLS only with a certificate.
		return nil, nil
	}
	tc, err := p.ClientConfig(a.cfg.Datacenter, a.cfg.Domain)
	if err != nil {
		return nil, fmt.Errorf("NATS: tls.internal_rpc: %w", err)
	}
	return []nats.Option{nats.Secure(tc)}, nil
}
