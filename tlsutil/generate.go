package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// CAOptions describe a new CA.
type CAOptions struct {
	// Domain is the agents' DNS domain ("consul"); with NameConstraint
	// the CA may sign only names under it (and localhost).
	Domain string
	// Days is how long the CA is valid.
	Days int
	// CommonName defaults to "Herald Agent CA <serial>".
	CommonName string
	// NameConstraint limits the DNS names the CA may sign to Domain,
	// localhost and AdditionalConstraints.
	NameConstraint        bool
	AdditionalConstraints []string
}

// GenerateCA makes a self-signed CA certificate and its ECDSA P-256 key,
// both in PEM.
func GenerateCA(o CAOptions) (certPEM, keyPEM []byte, err error) {
	if o.Days < 1 {
		return nil, nil, errors.New("the CA must be valid for at least one day")
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	id, err := keyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	name := o.CommonName
	if name == "" {
		name = fmt.Sprintf("Herald Agent CA %s", serial)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Herald"}},
		NotBefore:             now.Add(-time.Minute), // tolerate clocks slightly behind
		NotAfter:              now.AddDate(0, 0, o.Days),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          id,
		AuthorityKeyId:        id,
	}
	if o.NameConstraint {
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.PermittedDNSDomains = append([]string{strings.TrimSuffix(o.Domain, "."), "localhost"}, o.AdditionalConstraints...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// Kind is the role a certificate is made for.
type Kind string

// The roles of Consul's certificates.
const (
	KindServer Kind = "server"
	KindClient Kind = "client"
	KindCLI    Kind = "cli"
)

// CertOptions describe a certificate to sign.
type CertOptions struct {
	Kind       Kind
	Datacenter string
	Domain     string
	Days       int
	// Node adds <node>.server.<dc>.<domain> to a server's certificate.
	Node string
	// DNSNames and IPAddresses are added to the default names.
	DNSNames    []string
	IPAddresses []net.IP
}

// Names returns the DNS names and IP addresses a certificate of o gets:
// <kind>.<dc>.<domain>, localhost, 127.0.0.1 (not for a CLI), and the
// extras.
func (o CertOptions) Names() (dns []string, ips []net.IP) {
	domain := strings.TrimSuffix(o.Domain, ".")
	dns = []string{fmt.Sprintf("%s.%s.%s", o.Kind, o.Datacenter, domain), "localhost"}
	if o.Kind == KindServer && o.Node != "" {
		dns = append(dns, fmt.Sprintf("%s.server.%s.%s", o.Node, o.Datacenter, domain))
	}
	dns = append(dns, o.DNSNames...)
	if o.Kind != KindCLI {
		ips = append(ips, net.IPv4(127, 0, 0, 1))
	}
	return dns, append(ips, o.IPAddresses...)
}

// GenerateCert makes a certificate for o signed by the CA in caCertPEM and
// caKeyPEM, and its new ECDSA P-256 key, both in PEM.
func GenerateCert(o CertOptions, caCertPEM, caKeyPEM []byte) (certPEM, keyPEM []byte, err error) {
	switch o.Kind {
	case KindServer, KindClient, KindCLI:
	default:
		return nil, nil, fmt.Errorf("unknown certificate kind %q", o.Kind)
	}
	if o.Days < 1 {
		return nil, nil, errors.New("the certificate must be valid for at least one day")
	}
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	id, err := keyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	dns, ips := o.Names()
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if o.Kind == KindCLI {
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: dns[0]},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, o.Days),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           usage,
		DNSNames:              dns,
		IPAddresses:           ips,
		SubjectKeyId:          id,
		AuthorityKeyId:        ca.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, errors.New("the CA file holds no PEM certificate")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA certificate: %w", err)
	}
	if !ca.IsCA {
		return nil, nil, errors.New("the CA file's certificate is not a CA")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("the CA key file holds no PEM key")
	}
	key, err := parseKey(kb)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA key: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(ca.PublicKey) {
		return nil, nil, errors.New("the CA key does not belong to the CA certificate")
	}
	return ca, key, nil
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	switch b.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("the key cannot sign")
	}
	return s, nil
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// keyID is the SHA-256 of the public key's DER form, cut to 20 bytes as
// RFC 5280's key identifiers are.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}
