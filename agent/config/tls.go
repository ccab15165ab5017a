package config

import (
	"fmt"
	"net"
	"strings"

	"github.com/heraldhq/herald/tlsutil"
)

// TLS is Consul's tls block, each section with tls.defaults and the old
// top-level keys (ca_file, verify_incoming_rpc, ...) resolved into it.
type TLS struct {
	// HTTPS is the HTTPS listener (ports.https) and nothing else.
	HTTPS tlsutil.Protocol
	// InternalRPC is the traffic between agents: Raft between servers
	// (mutual TLS), and the NATS client port and cluster routes that
	// client agents and servers use.
	InternalRPC tlsutil.Protocol
	// GRPC is accepted and kept; Herald has no gRPC listener yet.
	GRPC tlsutil.Protocol
}

// tlsLayer is one tls section as the sources set it: nil fields were not
// set, so that a section inherits them.
type tlsLayer struct {
	caFile, caPath, certFile, keyFile, minVersion, cipherSuites *string
	verifyIncoming, verifyOutgoing, verifyServerHostname        *bool
}

// tlsSources are all the layers resolveTLS combines.
type tlsSources struct {
	defaults, https, internalRPC, grpc tlsLayer
	// legacy are the top-level keys from before the tls block.
	legacy tlsLayer
	// verifyIncomingRPC and verifyIncomingHTTPS are the old per-protocol
	// top-level keys.
	verifyIncomingRPC, verifyIncomingHTTPS *bool
}

func optStringField(p **string) setter {
	return func(v any) error {
		s, err := toString(v)
		if err == nil {
			*p = &s
		}
		return err
	}
}

// tlsFields are a tls section's keys.
func (l *loader) tlsFields(path string, t *tlsLayer) setter {
	return l.block(path, fields{
		"ca_file":                optStringField(&t.caFile),
		"ca_path":                optStringField(&t.caPath),
		"cert_file":              optStringField(&t.certFile),
		"key_file":               optStringField(&t.keyFile),
		"tls_min_version":        optStringField(&t.minVersion),
		"tls_cipher_suites":      optStringField(&t.cipherSuites),
		"verify_incoming":        optBoolField(&t.verifyIncoming),
		"verify_outgoing":        optBoolField(&t.verifyOutgoing),
		"verify_server_hostname": optBoolField(&t.verifyServerHostname),
	})
}

// tlsBlock is the setter of the tls block.
func (l *loader) tlsBlock() setter {
	s := &l.cfg.tls
	return l.block("tls", fields{
		"defaults":     l.tlsFields("tls.defaults", &s.defaults),
		"https":        l.tlsFields("tls.https", &s.https),
		"internal_rpc": l.tlsFields("tls.internal_rpc", &s.internalRPC),
		"grpc":         l.tlsFields("tls.grpc", &s.grpc),
	})
}

// legacyTLSFields are the top-level TLS keys of Consul before 1.12. They
// still work: each fills the setting the tls block leaves unset.
func (l *loader) legacyTLSFields() fields {
	s := &l.cfg.tls
	return fields{
		"ca_file":                optStringField(&s.legacy.caFile),
		"ca_path":                optStringField(&s.legacy.caPath),
		"cert_file":              optStringField(&s.legacy.certFile),
		"key_file":               optStringField(&s.legacy.keyFile),
		"tls_min_version":        optStringField(&s.legacy.minVersion),
		"tls_cipher_suites":      optStringField(&s.legacy.cipherSuites),
		"verify_incoming":        optBoolField(&s.legacy.verifyIncoming),
		"verify_outgoing":        optBoolField(&s.legacy.verifyOutgoing),
		"verify_server_hostname": optBoolField(&s.legacy.verifyServerHostname),
		"verify_incoming_rpc":    optBoolField(&s.verifyIncomingRPC),
		"verify_incoming_https":  optBoolField(&s.verifyIncomingHTTPS),
		"tls":                    l.tlsBlock(),
	}
}

// resolveTLS computes each section, setting by setting, from the first of:
// the section itself, the old per-protocol top-level key (verify_incoming_rpc
// for internal_rpc, verify_incoming_https for https), tls.defaults, the old
// top-level key. That is Consul's precedence: the tls block wins over the
// keys it replaced.
func (s *tlsSources) resolve() TLS {
	section := func(own tlsLayer, oldVerifyIncoming *bool) tlsutil.Protocol {
		str := func(get func(tlsLayer) *string) string {
			for _, l := range []tlsLayer{own, s.defaults, s.legacy} {
				if v := get(l); v != nil {
					return *v
				}
			}
			return ""
		}
		flag := func(get func(tlsLayer) *bool, old *bool) bool {
			if v := get(own); v != nil {
				return *v
			}
			if old != nil {
				return *old
			}
			for _, l := range []tlsLayer{s.defaults, s.legacy} {
				if v := get(l); v != nil {
					return *v
				}
			}
			return false
		}
		return tlsutil.Protocol{
			CAFile:               str(func(l tlsLayer) *string { return l.caFile }),
			CAPath:               str(func(l tlsLayer) *string { return l.caPath }),
			CertFile:             str(func(l tlsLayer) *string { return l.certFile }),
			KeyFile:              str(func(l tlsLayer) *string { return l.keyFile }),
			MinVersion:           str(func(l tlsLayer) *string { return l.minVersion }),
			CipherSuites:         str(func(l tlsLayer) *string { return l.cipherSuites }),
			VerifyIncoming:       flag(func(l tlsLayer) *bool { return l.verifyIncoming }, oldVerifyIncoming),
			VerifyOutgoing:       flag(func(l tlsLayer) *bool { return l.verifyOutgoing }, nil),
			VerifyServerHostname: flag(func(l tlsLayer) *bool { return l.verifyServerHostname }, nil),
		}
	}
	t := TLS{
		HTTPS:       section(s.https, s.verifyIncomingHTTPS),
		InternalRPC: section(s.internalRPC, s.verifyIncomingRPC),
		GRPC:        section(s.grpc, nil),
	}
	// Only Raft and NATS between agents check a server's name. Checking
	// it means verifying the certificate, so it implies verify_outgoing,
	// as in Consul.
	t.HTTPS.VerifyServerHostname, t.GRPC.VerifyServerHostname = false, false
	if t.InternalRPC.VerifyServerHostname {
		t.InternalRPC.VerifyOutgoing = true
	}
	return t
}

// validate checks the https and internal_rpc sections, and grpc with a
// gRPC port.
func (t TLS) validate(p Ports) error {
	if err := t.HTTPS.Validate("tls.https"); err != nil {
		return err
	}
	if err := t.InternalRPC.Validate("tls.internal_rpc"); err != nil {
		return err
	}
	if p.GRPC >= 0 {
		return t.GRPC.Validate("tls.grpc")
	}
	return nil
}

// warnHTTPSWithoutCert says that ports.https does nothing without a
// certificate. It is not an error: Consul's test harness sets an HTTPS
// port for every agent it starts, certificate or not.
func (c *Config) warnHTTPSWithoutCert() {
	if c.Ports.HTTPS >= 0 && !c.TLS.HTTPS.HasCert() {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"ports.https = %d has no certificate: set tls.https (or tls.defaults) cert_file and key_file; "+
				"there is no HTTPS listener until then", c.Ports.HTTPS))
	}
}

// remoteScriptCheckWarning is Consul's warning, word for word, about
// script checks that anyone who reaches the HTTP API may register.
const remoteScriptCheckWarning = "using enable-script-checks without ACLs and without allow_write_http_from is DANGEROUS, " +
	"use enable-local-script-checks instead, see https://www.hashicorp.com/blog/protecting-consul-from-rce-risk-in-specific-configurations/"

// warnRemoteScriptChecks warns when script checks may be registered through
// an HTTP API that other hosts reach without a token: enable_script_checks
// with ACLs off and an HTTP or HTTPS listener on an address that is not
// loopback (a unix socket is local).
func (c *Config) warnRemoteScriptChecks() {
	if !c.EnableScriptChecks || c.ACL.Enabled {
		return
	}
	var addrs []string
	if c.Ports.HTTP >= 0 {
		addrs = append(addrs, strings.Fields(c.Addresses.HTTP)...)
	}
	if c.Ports.HTTPS >= 0 {
		addrs = append(addrs, strings.Fields(c.Addresses.HTTPS)...)
	}
	for _, a := range addrs {
		if strings.HasPrefix(a, "unix://") {
			continue
		}
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			c.Warnings = append(c.Warnings, remoteScriptCheckWarning)
			return
		}
	}
}
