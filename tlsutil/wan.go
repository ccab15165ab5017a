package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// WAN is the TLS of the links between servers of different datacenters
// of a domain, as a NATS gateway needs it: one configuration it listens
// with (and dials with any gateway it learns of from the others, without
// saying which datacenter it dials), and one for dialing each server it
// was told of, whose datacenter is known (Dial).
//
//   - Listening, Config presents this server's certificate and, with
//     VerifyIncoming, requires a client certificate signed by the CA.
//   - Dialing a server of datacenter dc (Dial(dc)), this server's
//     certificate is presented, and the other end's verified as
//     ClientConfig verifies a server of dc: with VerifyOutgoing against the
//     CA, with VerifyServerHostname as well for the name
//     server.<dc>.<domain> (ServerName), so that neither a client agent's
//     certificate (client.<dc>.<domain>) nor a server's of another
//     datacenter passes, as with Consul's verify_server_hostname.
//   - Dialing with Config, whose datacenter is not known: with
//     VerifyOutgoing and VerifyServerHostname every server is refused
//     (ConfiguredOnly), since the name to check is unknown; with
//     VerifyOutgoing alone the certificate must be the CA's, as with Dial.
//
// Both ends need a certificate.
type WAN struct {
	// Config is the TLS to listen with, and to dial a server whose
	// datacenter is unknown with.
	Config *tls.Config
	// ConfiguredOnly is set when Config dials nobody: only the servers
	// dialed with Dial can link.
	ConfiguredOnly bool

	p      Protocol
	domain string
	base   *tls.Config
	pool   *x509.CertPool
}

// WANConfig is the TLS of the links between servers of different
// datacenters of domain, from the internal_rpc settings p.
func (p Protocol) WANConfig(domain string) (*WAN, error) {
	if !p.HasCert() {
		return nil, errors.New("a TLS link between servers needs cert_file and key_file")
	}
	server, err := p.ServerConfig()
	if err != nil {
		return nil, err
	}
	base, pool, err := p.base()
	if err != nil {
		return nil, err
	}
	w := &WAN{p: p, domain: domain, base: base, pool: pool}
	shared := base.Clone()
	if err := p.verifyServer(shared, pool, "", domain); err != nil {
		return nil, err
	}
	if p.VerifyOutgoing && p.VerifyServerHostname {
		// The name to check depends on the datacenter, unknown here.
		shared.ServerName = ""
		shared.InsecureSkipVerify = true
		shared.VerifyConnection = func(tls.ConnectionState) error {
			return errors.New("tls: the datacenter of this server is unknown, so its certificate cannot be checked for " +
				ServerName("<datacenter>", domain) + ": only the servers of the WAN pool are dialed")
		}
		w.ConfiguredOnly = true
	}
	// Go asks GetConfigForClient only of a listening side: the accepted
	// connections get the listening configuration.
	shared.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return server, nil }
	w.Config = shared
	return w, nil
}

// Dial is the TLS to dial a server of datacenter with.
func (w *WAN) Dial(datacenter string) *tls.Config {
	cfg := w.base.Clone()
	// WANConfig made the same call without an error: the CA is there
	// when it is needed.
	_ = w.p.verifyServer(cfg, w.pool, datacenter, w.domain)
	return cfg
}
