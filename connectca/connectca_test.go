package connectca

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// An operator's own key and certificate become the root as they are, and a
// key that is not the certificate's is refused.
func TestImportedRoot(t *testing.T) {
	now := time.Now()
	made, err := NewRoot("c1", DefaultConfig(), now)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(map[string]any{"PrivateKey": made.PrivateKey, "RootCert": made.RootCert, "leaf_cert_ttl": "2h"})
	if err != nil || cfg.LeafCertTTL != 2*time.Hour {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	imported, err := NewRoot("c1", cfg, now)
	if err != nil || imported.ID != made.ID || imported.PrivateKeyType != "ec" || imported.PrivateKeyBits != 256 {
		t.Fatalf("imported root %+v, %v; made %s", imported, err, made.ID)
	}
	other, _ := NewRoot("c1", DefaultConfig(), now)
	_, err = NewRoot("c1", Config{PrivateKey: other.PrivateKey, RootCert: made.RootCert}, now)
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("a mismatched key: %v", err)
	}
}

// A leaf of the new root verifies against the old root through the
// cross-signed certificate, and carries the service's SPIFFE ID.
func TestCrossSignedLeaf(t *testing.T) {
	now := time.Now()
	old, _ := NewRoot("c1", DefaultConfig(), now)
	rsaCfg := DefaultConfig()
	rsaCfg.PrivateKeyType, rsaCfg.PrivateKeyBits = "rsa", 2048
	next, err := NewRoot("c1", rsaCfg, now)
	if err != nil {
		t.Fatal(err)
	}
	xc, err := CrossSign(old, next)
	if err != nil {
		t.Fatal(err)
	}
	next.IntermediateCerts = []string{xc}
	leaf, err := SignLeaf(next, TrustDomain("c1"), "dc1", "web", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := ParseCert(leaf.CertPEM)
	cross, _ := ParseCert(xc)
	oldCert, _ := ParseCert(old.RootCert)
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(oldCert)
	inter.AddCert(cross)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil {
		t.Fatalf("leaf through the cross-signed root: %v", err)
	}
	if leaf.ServiceURI != "spiffe://c1.consul/ns/default/dc/dc1/svc/web" || cert.URIs[0].String() != leaf.ServiceURI {
		t.Fatalf("URI %s / %v", leaf.ServiceURI, cert.URIs)
	}
	if !strings.Contains(leaf.CertPEM, strings.TrimSpace(xc)) {
		t.Fatal("the leaf's PEM does not carry the cross-signed root")
	}
}
