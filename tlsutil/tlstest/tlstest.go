package tlstest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/heraldhq/herald/tlsutil"
)

// CA is a CA whose certificate and key are files in a test's directory.
type CA struct {
	// CertFile and KeyFile are the CA's files.
	CertFile, KeyFile string
	dir               string
	certPEM, keyPEM   []byte
	n                 atomic.Int64
}

// NewCA makes a CA for the domain "consul", valid for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.GenerateCA(tlsutil.CAOptions{Domain: "consul", Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &CA{CertFile: filepath.Join(dir, "ca.pem"), KeyFile: filepath.Join(dir, "ca-key.pem"),
		dir: dir, certPEM: certPEM, keyPEM: keyPEM}
	write(t, ca.CertFile, certPEM)
	write(t, ca.KeyFile, keyPEM)
	return ca
}

// Cert makes a certificate of kind for datacenter dc (domain "consul"),
// naming ips besides 127.0.0.1, and returns its certificate and key files.
func (ca *CA) Cert(t testing.TB, kind tlsutil.Kind, dc string, ips ...net.IP) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.GenerateCert(tlsutil.CertOptions{Kind: kind, Datacenter: dc, Domain: "consul", Days: 1,
		IPAddresses: ips}, ca.certPEM, ca.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	n := ca.n.Add(1)
	certFile = filepath.Join(ca.dir, fmt.Sprintf("%s-%s-%d.pem", dc, kind, n))
	keyFile = filepath.Join(ca.dir, fmt.Sprintf("%s-%s-%d-key.pem", dc, kind, n))
	write(t, certFile, certPEM)
	write(t, keyFile, keyPEM)
	return certFile, keyFile
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
