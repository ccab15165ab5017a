package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Protocol is the TLS configuration of one kind of connection (Consul's
// tls.https, tls.internal_rpc or tls.grpc section), defaults resolved.
type Protocol struct {
	// CAFile is a PEM file of CA certificates; CAPath a directory of them.
	// CAFile wins when both are set, as in Consul.
	CAFile string
	CAPath string
	// CertFile and KeyFile are this agent's certificate and its key, in
	// PEM; both or neither.
	CertFile string
	KeyFile  string
	// VerifyIncoming requires every incoming connection to present a
	// certificate signed by the CA.
	VerifyIncoming bool
	// VerifyOutgoing makes outgoing connections verify the other end's
	// certificate against the CA.
	VerifyOutgoing bool
	// VerifyServerHostname also checks that a server's certificate names
	// server.<datacenter>.<domain> (internal_rpc only): a client
	// certificate from the same CA then cannot pass for a server.
	VerifyServerHostname bool
	// MinVersion is Consul's name of the oldest TLS version accepted
	// ("TLSv1_2", the default when empty, or "TLSv1_3"; the older
	// "TLSv1_0", "TLSv1_1" and the legacy "tls12"-style names too).
	MinVersion string
	// CipherSuites is a comma-separated list of Go's cipher suite names
	// (TLS 1.2 and older; TLS 1.3's suites are not configurable); empty
	// means Go's defaults.
	CipherSuites string
}

// HasCert reports whether the section names a certificate and key.
func (p Protocol) HasCert() bool { return p.CertFile != "" && p.KeyFile != "" }

// HasCA reports whether the section names CA certificates.
func (p Protocol) HasCA() bool { return p.CAFile != "" || p.CAPath != "" }

// Enabled reports whether connections of this kind use TLS at all: a
// listener needs a certificate, a dialer a CA or a certificate.
func (p Protocol) Enabled() bool { return p.HasCert() || p.HasCA() }

// versions maps Consul's names of TLS versions to Go's.
var versions = map[string]uint16{
	"TLSv1_0": tls.VersionTLS10, "TLSv1_1": tls.VersionTLS11,
	"TLSv1_2": tls.VersionTLS12, "TLSv1_3": tls.VersionTLS13,
	// The names Consul accepted before 1.12.
	"tls10": tls.VersionTLS10, "tls11": tls.VersionTLS11,
	"tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13,
}

// ParseMinVersion returns Go's TLS version for one of Consul's names;
// empty is TLS 1.2, Consul's default.
func ParseMinVersion(name string) (uint16, error) {
	if name == "" {
		return tls.VersionTLS12, nil
	}
	if v, ok := versions[name]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("tls_min_version: value %s not supported, please specify one of [TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3]", name)
}

// ParseCipherSuites reads a comma-separated list of cipher suite names.
func ParseCipherSuites(list string) ([]uint16, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	known := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		known[s.Name] = s.ID
	}
	var ids []uint16
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		id, ok := known[name]
		if !ok {
			return nil, fmt.Errorf("tls_cipher_suites: unsupported cipher suite %q", name)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// LoadCAs reads the CA certificates of caFile, or else of every file
// under caPath, into a pool; nil when neither is set.
func LoadCAs(caFile, caPath string) (*x509.CertPool, error) {
	pems, err := ReadCAs(caFile, caPath)
	if err != nil || pems == nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, p := range pems {
		if !pool.AppendCertsFromPEM(p.PEM) {
			return nil, fmt.Errorf("%s holds no PEM certificate", p.Path)
		}
	}
	return pool, nil
}

// CAFile is one file of CA certificates as read.
type CAFile struct {
	Path string
	PEM  []byte
}

// ReadCAs reads caFile, or else every regular file under caPath in
// lexical order; nil when neither is set. A caPath without any file is an
// error, as in Consul.
func ReadCAs(caFile, caPath string) ([]CAFile, error) {
	if caFile != "" {
		data, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		return []CAFile{{caFile, data}}, nil
	}
	if caPath == "" {
		return nil, nil
	}
	var out []CAFile
	err := filepath.WalkDir(caPath, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, CAFile{path, data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ca_path: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ca_path: no CA certificates found in %s", caPath)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Validate checks the section as the agent would use it, reading its
// files; name ("tls.https") starts every message.
func (p Protocol) Validate(name string) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (p Protocol) validate() error {
	if _, err := ParseMinVersion(p.MinVersion); err != nil {
		return err
	}
	if _, err := ParseCipherSuites(p.CipherSuites); err != nil {
		return err
	}
	if (p.CertFile == "") != (p.KeyFile == "") {
		return errors.New("cert_file and key_file must be set together: a certificate is of no use without its key")
	}
	pool, err := LoadCAs(p.CAFile, p.CAPath)
	if err != nil {
		return err
	}
	if p.HasCert() {
		if _, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile); err != nil {
			return fmt.Errorf("failed to load cert/key pair: %w", err)
		}
	}
	if p.VerifyOutgoing && pool == nil {
		return errors.New("verify_outgoing set, and no CA certificate provided (set ca_file or ca_path)")
	}
	if p.VerifyIncoming {
		if pool == nil {
			return errors.New("verify_incoming set, and no CA certificate provided (set ca_file or ca_path)")
		}
		if !p.HasCert() {
			return errors.New("verify_incoming set, and no cert_file/key_file pair provided")
		}
	}
	return nil
}

// base is what both sides share: the versions, the suites, and this
// agent's certificate when it has one.
func (p Protocol) base() (*tls.Config, *x509.CertPool, error) {
	minVersion, err := ParseMinVersion(p.MinVersion)
	if err != nil {
		return nil, nil, err
	}
	suites, err := ParseCipherSuites(p.CipherSuites)
	if err != nil {
		return nil, nil, err
	}
	pool, err := LoadCAs(p.CAFile, p.CAPath)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{MinVersion: minVersion, CipherSuites: suites}
	if p.HasCert() {
		cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to load cert/key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, pool, nil
}

// ServerConfig is the listening side: this agent's certificate, and with
// VerifyIncoming a client certificate signed by the CA required of every
// connection. Without VerifyIncoming a client certificate is not asked for.
func (p Protocol) ServerConfig() (*tls.Config, error) {
	if !p.HasCert() {
		return nil, errors.New("a TLS listener needs cert_file and key_file")
	}
	cfg, pool, err := p.base()
	if err != nil {
		return nil, err
	}
	if p.VerifyIncoming {
		if pool == nil {
			return nil, errors.New("verify_incoming set, and no CA certificate provided")
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ServerName is the name every server's certificate carries, and what
// VerifyServerHostname checks: server.<datacenter>.<domain>.
func ServerName(datacenter, domain string) string {
	return "server." + datacenter + "." + strings.TrimSuffix(domain, ".")
}

// ClientConfig is the dialing side, towards a server of datacenter in
// domain: it presents this agent's certificate when it has one, and
// verifies the server as the section says. With VerifyOutgoing and
// VerifyServerHostname the certificate must be the CA's and name
// ServerName; with VerifyOutgoing alone it must be the CA's, whatever
// names it carries (the address dialed is not checked, as in Consul);
// without VerifyOutgoing the server is not verified.
func (p Protocol) ClientConfig(datacenter, domain string) (*tls.Config, error) {
	cfg, pool, err := p.base()
	if err != nil {
		return nil, err
	}
	if err := p.verifyServer(cfg, pool, datacenter, domain); err != nil {
		return nil, err
	}
	return cfg, nil
}

// verifyServer sets up cfg, a dialing side, to verify a server of
// datacenter in domain as ClientConfig says, with pool the CA.
func (p Protocol) verifyServer(cfg *tls.Config, pool *x509.CertPool, datacenter, domain string) error {
	switch {
	case p.VerifyOutgoing && p.VerifyServerHostname:
		if pool == nil {
			return errors.New("verify_outgoing set, and no CA certificate provided")
		}
		cfg.RootCAs = pool
		cfg.ServerName = ServerName(datacenter, domain)
	case p.VerifyOutgoing:
		if pool == nil {
			return errors.New("verify_outgoing set, and no CA certificate provided")
		}
		cfg.RootCAs = pool
		// Go checks the chain and the host name together; the chain alone
		// is checked here instead.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = verifyChain(pool)
	default:
		cfg.InsecureSkipVerify = true
	}
	return nil
}

// verifyChain checks that the peer's certificate chains to a CA of pool,
// without checking any name.
func verifyChain(pool *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: the server presented no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		return err
	}
}
