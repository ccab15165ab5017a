package agent

import (
	"errors"
	"fmt"

	"github.com/heraldhq/herald/tlsutil"
)

// gatewayTLS is the TLS of the NATS gateway's links to the other
// datacenters' servers, from tls.internal_rpc (as Consul's WAN RPC): on
// when it asks for verification (verify_incoming or verify_outgoing), as
// Raft's mutual TLS is, and then it needs a certificate and a CA. nil
// otherwise: the links are then plain, with the gossip key's password
// alone. Every server of the federation must agree, since a gateway with
// TLS refuses one without.
func (a *Agent) gatewayTLS() (*tlsutil.WAN, error) {
	p := a.cfg.TLS.InternalRPC
	if !p.VerifyIncoming && !p.VerifyOutgoing {
		return nil, nil
	}
	if !p.HasCA() || !p.HasCert() {
		return nil, errors.New("with verify_incoming or verify_outgoing, the NATS gateways between datacenters use TLS: " +
			"tls.internal_rpc (or tls.defaults) needs ca_file or ca_path, cert_file and key_file")
	}
	tc, err := p.WANConfig(a.cfg.Domain)
	if err != nil {
		return nil, fmt.Errorf("NATS gateway: tls.internal_rpc: %w", err)
	}
	return tc, nil
}
