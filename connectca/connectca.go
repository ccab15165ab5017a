package connectca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/heraldhq/herald/event"
)

// Provider is the name of the built-in provider, the only one Herald has.
const Provider = "consul"

// Defaults of the built-in provider's configuration, Consul's.
const (
	DefaultLeafCertTTL    = 72 * time.Hour
	DefaultRootCertTTL    = 10 * 365 * 24 * time.Hour
	DefaultPrivateKeyType = "ec"
	DefaultPrivateKeyBits = 256
)

// Config is the built-in provider's configuration: Consul's
// CAConfiguration.Config keys.
type Config struct {
	LeafCertTTL    time.Duration
	RootCertTTL    time.Duration
	PrivateKeyType string
	PrivateKeyBits int
	// PrivateKey and RootCert (PEM) are a CA the operator brings; empty,
	// Herald generates one.
	PrivateKey string
	RootCert   string
	// ClusterID (ca_config's cluster_id) picks the cluster ID, which only
	// the first root takes, instead of a random one: Consul's test
	// harness sets it.
	ClusterID string
}

// DefaultConfig is the configuration of a CA nobody configured.
func DefaultConfig() Config {
	return Config{LeafCertTTL: DefaultLeafCertTTL, RootCertTTL: DefaultRootCertTTL,
		PrivateKeyType: DefaultPrivateKeyType, PrivateKeyBits: DefaultPrivateKeyBits}
}

// ParseConfig reads a provider configuration as Consul's API and config
// files spell it (LeafCertTTL or leaf_cert_ttl, durations as strings or
// nanoseconds), over the defaults. Keys it does not know are kept by the
// caller but not acted on.
func ParseConfig(m map[string]any) (Config, error) {
	c := DefaultConfig()
	for k, v := range m {
		var err error
		switch strings.ToLower(strings.ReplaceAll(k, "_", "")) {
		case "leafcertttl":
			c.LeafCertTTL, err = duration(v)
		case "rootcertttl":
			c.RootCertTTL, err = duration(v)
		case "privatekeytype":
			s, ok := v.(string)
			if !ok {
				err = errors.New("must be a string")
			}
			c.PrivateKeyType = s
		case "privatekeybits":
			c.PrivateKeyBits, err = integer(v)
		case "privatekey":
			c.PrivateKey, _ = v.(string)
		case "rootcert":
			c.RootCert, _ = v.(string)
		case "clusterid":
			c.ClusterID, _ = v.(string)
			if !isUUID(c.ClusterID) {
				err = fmt.Errorf("cluster_id %q is not a UUID", c.ClusterID)
			}
		}
		if err != nil {
			return c, fmt.Errorf("CA config %s: %w", k, err)
		}
	}
	switch {
	case c.LeafCertTTL < time.Hour || c.LeafCertTTL > 365*24*time.Hour:
		return c, fmt.Errorf("LeafCertTTL must be between 1h0m0s and 8760h0m0s")
	case c.RootCertTTL < 365*24*time.Hour:
		return c, fmt.Errorf("RootCertTTL must be at least 8760h0m0s")
	case c.PrivateKeyType == "ec" && c.PrivateKeyBits != 224 && c.PrivateKeyBits != 256 && c.PrivateKeyBits != 384 && c.PrivateKeyBits != 521:
		return c, fmt.Errorf("EC key length must be one of (224, 256, 384, 521) bits")
	case c.PrivateKeyType == "rsa" && c.PrivateKeyBits != 2048 && c.PrivateKeyBits != 4096:
		return c, fmt.Errorf("RSA key length must be 2048 or 4096 bits")
	case c.PrivateKeyType != "ec" && c.PrivateKeyType != "rsa":
		return c, fmt.Errorf("private key type must be either 'ec' or 'rsa'")
	case (c.PrivateKey == "") != (c.RootCert == ""):
		return c, fmt.Errorf("PrivateKey and RootCert must be given together")
	}
	return c, nil
}

// Public is the configuration as the API shows and the state keeps it:
// without the private key.
func (c Config) Public() map[string]any {
	m := map[string]any{
		"LeafCertTTL":    durationText(c.LeafCertTTL),
		"RootCertTTL":    durationText(c.RootCertTTL),
		"PrivateKeyType": c.PrivateKeyType,
		"PrivateKeyBits": c.PrivateKeyBits,
	}
	if c.RootCert != "" {
		m["RootCert"] = c.RootCert
	}
	return m
}

// durationText writes whole hours as Consul's configuration does ("72h"),
// anything else as Go does.
func durationText(d time.Duration) string {
	if d > 0 && d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func duration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		return time.ParseDuration(x)
	case float64:
		return time.Duration(x), nil
	case int:
		return time.Duration(x), nil
	case int64:
		return time.Duration(x), nil
	}
	return 0, fmt.Errorf("not a duration: %v", v)
}

func integer(v any) (int, error) {
	switch x := v.(type) {
	case float64:
		return int(x), nil
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case string:
		var n int
		_, err := fmt.Sscan(x, &n)
		return n, err
	}
	return 0, fmt.Errorf("not a number: %v", v)
}

// TrustDomain is the SPIFFE trust domain of a cluster.
func TrustDomain(clusterID string) string { return clusterID + ".consul" }

// ServiceURI is a service's SPIFFE ID: Consul's
// spiffe://<trust domain>/ns/default/dc/<dc>/svc/<service>.
func ServiceURI(trustDomain, datacenter, service string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: trustDomain,
		Path: "/ns/default/dc/" + datacenter + "/svc/" + service}
}

// isUUID reports whether s is a UUID in its usual text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", r):
			return false
		}
	}
	return true
}

// NewRoot makes the root of a CA for the cluster: from the operator's key
// and certificate when the configuration has them, otherwise a new key and
// a self-signed certificate valid for RootCertTTL from now.
func NewRoot(clusterID string, cfg Config, now time.Time) (*event.CARoot, error) {
	if cfg.PrivateKey != "" {
		return importRoot(cfg)
	}
	key, err := newKey(cfg.PrivateKeyType, cfg.PrivateKeyBits)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	keyID, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	td := TrustDomain(clusterID)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{CommonName: fmt.Sprintf("pri-%x.consul.ca.%s.consul", serial.Bytes()[:4], shortID(clusterID)),
			Organization: []string{"Herald"}},
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: td}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(cfg.RootCertTTL),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          keyID,
		AuthorityKeyId:        keyID,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("sign the CA root: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return rootOf(der, keyPEM, cfg.PrivateKeyType, cfg.PrivateKeyBits)
}

// importRoot is the root an operator's key and certificate make.
func importRoot(cfg Config) (*event.CARoot, error) {
	key, err := ParseKey(cfg.PrivateKey)
	if err != nil {
		return nil, err
	}
	cert, err := ParseCert(cfg.RootCert)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("RootCert is not a CA certificate")
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("PrivateKey does not match RootCert")
	}
	typ, bits := keyKind(key)
	return rootOf(cert.Raw, strings.TrimSpace(cfg.PrivateKey)+"\n", typ, bits)
}

func rootOf(der []byte, keyPEM, keyType string, keyBits int) (*event.CARoot, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kid := cert.SubjectKeyId
	if len(kid) == 0 {
		kid = cert.AuthorityKeyId
	}
	sum := sha1.Sum(der)
	return &event.CARoot{
		ID:             colonHex(sum[:]),
		Name:           "Consul CA Primary Cert",
		SerialNumber:   cert.SerialNumber.Uint64(),
		SigningKeyID:   colonHex(kid),
		NotBefore:      cert.NotBefore.UnixNano(),
		NotAfter:       cert.NotAfter.UnixNano(),
		RootCert:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		PrivateKeyType: keyType,
		PrivateKeyBits: keyBits,
		PrivateKey:     keyPEM,
	}, nil
}

// CrossSign is newRoot's certificate signed by old's key, for the new
// root's intermediates: a leaf that the new root signs then also verifies
// for a peer that trusts only the old root, while the rotation spreads.
func CrossSign(old, newRoot *event.CARoot) (string, error) {
	oldKey, err := ParseKey(old.PrivateKey)
	if err != nil {
		return "", err
	}
	oldCert, err := ParseCert(old.RootCert)
	if err != nil {
		return "", err
	}
	newCert, err := ParseCert(newRoot.RootCert)
	if err != nil {
		return "", err
	}
	tmpl := *newCert
	tmpl.AuthorityKeyId = oldCert.SubjectKeyId
	tmpl.SignatureAlgorithm = x509.UnknownSignatureAlgorithm // the old key's own
	if tmpl.NotAfter.After(oldCert.NotAfter) {
		tmpl.NotAfter = oldCert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, oldCert, newCert.PublicKey, oldKey)
	if err != nil {
		return "", fmt.Errorf("cross-sign the new root: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// Leaf is a signed service certificate with its new key.
type Leaf struct {
	SerialNumber  string
	CertPEM       string
	PrivateKeyPEM string
	ServiceURI    string
	ValidAfter    time.Time
	ValidBefore   time.Time
}

// SignLeaf makes a key for service and a certificate for it (SignKey).
func SignLeaf(root *event.CARoot, trustDomain, datacenter, service string, ttl time.Duration, now time.Time) (*Leaf, error) {
	key, err := NewLeafKey()
	if err != nil {
		return nil, err
	}
	leaf, err := SignKey(root, trustDomain, datacenter, service, key.Public(), ttl, now)
	if err != nil {
		return nil, err
	}
	if leaf.PrivateKeyPEM, err = encodeKey(key); err != nil {
		return nil, err
	}
	return leaf, nil
}

// NewLeafKey makes the key of a leaf certificate: P-256, as Consul's
// default.
func NewLeafKey() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// EncodeLeafKey is a leaf key in PEM, as Consul's leaves carry it.
func EncodeLeafKey(key crypto.Signer) (string, error) { return encodeKey(key) }

// SignKey makes a certificate for service's public key pub (the key stays
// with whoever made it: PrivateKeyPEM is empty), signed by the root (which
// must have its private key), with the service's SPIFFE ID as its URI SAN,
// valid for ttl. The root's intermediates (a cross-signed certificate after
// a rotation) follow the leaf in CertPEM, as Consul's leaves carry them.
func SignKey(root *event.CARoot, trustDomain, datacenter, service string, pub crypto.PublicKey, ttl time.Duration, now time.Time) (*Leaf, error) {
	caKey, err := ParseKey(root.PrivateKey)
	if err != nil {
		return nil, err
	}
	caCert, err := ParseCert(root.RootCert)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	keyID, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	uri := ServiceURI(trustDomain, datacenter, service)
	notBefore := now.Add(-time.Minute)
	notAfter := now.Add(ttl)
	if caAfter := caCert.NotAfter; notAfter.After(caAfter) {
		notAfter = caAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: service},
		URIs:                  []*url.URL{uri},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		SubjectKeyId:          keyID,
		AuthorityKeyId:        caCert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign the leaf of %s: %w", service, err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	for _, ic := range root.IntermediateCerts {
		certPEM += strings.TrimSpace(ic) + "\n"
	}
	return &Leaf{SerialNumber: colonHex(serial.Bytes()), CertPEM: certPEM,
		ServiceURI: uri.String(), ValidAfter: notBefore, ValidBefore: notAfter}, nil
}

// ParseCert reads the first certificate of a PEM text.
func ParseCert(pemText string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate found")
	}
	return x509.ParseCertificate(block.Bytes)
}

// ParseKey reads a PEM private key: EC, PKCS#1 RSA or PKCS#8.
func ParseKey(pemText string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("no PEM private key found")
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", k)
	}
	return signer, nil
}

func newKey(typ string, bits int) (crypto.Signer, error) {
	if typ == "rsa" {
		return rsa.GenerateKey(rand.Reader, bits)
	}
	var curve elliptic.Curve
	switch bits {
	case 224:
		curve = elliptic.P224()
	case 256:
		curve = elliptic.P256()
	case 384:
		curve = elliptic.P384()
	case 521:
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("EC key length %d is not supported", bits)
	}
	return ecdsa.GenerateKey(curve, rand.Reader)
}

func keyKind(k crypto.Signer) (string, int) {
	switch key := k.(type) {
	case *ecdsa.PrivateKey:
		return "ec", key.Curve.Params().BitSize
	case *rsa.PrivateKey:
		return "rsa", key.N.BitLen()
	}
	return "", 0
}

func encodeKey(k crypto.Signer) (string, error) {
	switch key := k.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
	case *rsa.PrivateKey:
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})), nil
	}
	return "", fmt.Errorf("private key of type %T", k)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// keyID identifies a public key: a hash of its encoding, as certificates'
// subject key IDs do.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}

// newSerial is a random positive serial number that fits in 63 bits, so
// that the API's SerialNumber (a uint64) holds it whole.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

// colonHex writes bytes as lower-case hex pairs joined by colons, the way
// Consul's API shows serial numbers and key IDs.
func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

func shortID(clusterID string) string {
	if len(clusterID) > 8 {
		return clusterID[:8]
	}
	return clusterID
}
