package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// WANConfig is the TLS of a link between servers of different
// datacenters of domain that one *tls.Config must serve both ways, as a
// NATS gateway's does: NATS listens with it, and dials with it every
// gateway it learns of from the others, without saying which datacenter
// it dials. So:
//
//   - listening, it presents this server's certificate and, with
//     VerifyIncoming, requires a client certificate signed by the CA;
//   - dialing, it presents this server's certificate, and with
//     VerifyOutgoing verifies the other end's against the CA; with
//     VerifyServerHostname as well, that certificate must also name
//     server.<dc>.<domain> for some datacenter dc: a server's certificate,
//     which a client agent's (client.<dc>.<domain>) of the same CA cannot
//     pass for. The datacenter itself is not checked, since the dialer
//     does not know it.
//
// Both ends need a certificate.
func (p Protocol) WANConfig(domain string) (*tls.Config, error) {
	if !p.HasCert() {
		return nil, errors.New("a TLS link between servers needs cert_file and key_file")
	}
	server, err := p.ServerConfig()
	if err != nil {
		return nil, err
	}
	dial, pool, err := p.base()
	if err != nil {
		return nil, err
	}
	if p.VerifyOutgoing && pool == nil {
		return nil, errors.New("verify_outgoing set, and no CA certificate provided")
	}
	// The names are checked below, not by Go against the address dialed.
	dial.InsecureSkipVerify = true
	if p.VerifyOutgoing {
		chain := verifyChain(pool)
		dial.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := chain(cs); err != nil {
				return err
			}
			if p.VerifyServerHostname && !namesAServer(cs.PeerCertificates[0], domain) {
				return fmt.Errorf("tls: the certificate names none of server.<datacenter>.%s (names %v): not a server's",
					strings.TrimSuffix(domain, "."), cs.PeerCertificates[0].DNSNames)
			}
			return nil
		}
	}
	// Go asks GetConfigForClient only of a listening side: the accepted
	// connections get the listening configuration.
	dial.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return server, nil }
	return dial, nil
}

// namesAServer reports whether cert names server.<dc>.<domain> for some
// single-label dc.
func namesAServer(cert *x509.Certificate, domain string) bool {
	suffix := "." + strings.TrimSuffix(domain, ".")
	for _, name := range cert.DNSNames {
		dc, ok := strings.CutPrefix(name, "server.")
		if !ok {
			continue
		}
		dc, ok = strings.CutSuffix(dc, suffix)
		if ok && dc != "" && !strings.Contains(dc, ".") {
			return true
		}
	}
	return false
}
