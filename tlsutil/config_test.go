package tlsutil_test

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/heraldhq/herald/tlsutil"
	"github.com/heraldhq/herald/tlsutil/tlstest"
)

// handshake runs a TLS handshake between server and client configs over
// a loopback connection and returns the client's error (or the server's,
// when only the server refused).
func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = c.Write([]byte("ok"))
		}
		serverErr <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		<-serverErr
		return err
	}
	defer c.Close()
	// TLS 1.3 reports a refused client certificate on the first read.
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		<-serverErr
		return err
	}
	return <-serverErr
}

func TestVerifyRules(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	serverCert, serverKey := ca.Cert(t, tlsutil.KindServer, "dc1")
	clientCert, clientKey := ca.Cert(t, tlsutil.KindClient, "dc1")
	otherCert, otherKey := other.Cert(t, tlsutil.KindServer, "dc1")

	server := func(p tlsutil.Protocol) *tls.Config {
		c, err := p.ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	client := func(p tlsutil.Protocol) *tls.Config {
		c, err := p.ClientConfig("dc1", "consul.")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	strict := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: serverCert, KeyFile: serverKey,
		VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true}
	withClient := tlsutil.Protocol{CAFile: ca.CertFile, CertFile: clientCert, KeyFile: clientKey,
		VerifyOutgoing: true, VerifyServerHostname: true}

	cases := []struct {
		name           string
		server, client tlsutil.Protocol
		fails          bool
	}{
		{"same CA, client certificate", strict, withClient, false},
		{"no client certificate", strict, tlsutil.Protocol{CAFile: ca.CertFile, VerifyOutgoing: true}, true},
		{"client certificate of another CA", strict,
			tlsutil.Protocol{CAFile: ca.CertFile, CertFile: otherCert, KeyFile: otherKey, VerifyOutgoing: true}, true},
		{"server certificate of another CA",
			tlsutil.Protocol{CertFile: otherCert, KeyFile: otherKey}, withClient, true},
		{"not verified without verify_outgoing",
			tlsutil.Protocol{CertFile: otherCert, KeyFile: otherKey}, tlsutil.Protocol{}, false},
		{"chain only without verify_server_hostname",
			tlsutil.Protocol{CertFile: clientCert, KeyFile: clientKey},
			tlsutil.Protocol{CAFile: ca.CertFile, VerifyOutgoing: true}, false},
		{"a client certificate cannot pass for a server",
			tlsutil.Protocol{CertFile: clientCert, KeyFile: clientKey}, withClient, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(t, server(tc.server), client(tc.client))
			if (err != nil) != tc.fails {
				t.Fatalf("handshake error %v, want failure %v", err, tc.fails)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Cert(t, tlsutil.KindServer, "dc1")
	cases := []struct {
		p    tlsutil.Protocol
		want string
	}{
		{tlsutil.Protocol{CAFile: ca.CertFile, CertFile: cert, KeyFile: key, VerifyIncoming: true, VerifyOutgoing: true}, ""},
		{tlsutil.Protocol{VerifyIncoming: true, CertFile: cert, KeyFile: key}, "tls.https: verify_incoming set, and no CA certificate provided"},
		{tlsutil.Protocol{VerifyIncoming: true, CAFile: ca.CertFile}, "verify_incoming set, and no cert_file/key_file pair provided"},
		{tlsutil.Protocol{VerifyOutgoing: true}, "verify_outgoing set, and no CA certificate provided"},
		{tlsutil.Protocol{CertFile: cert}, "cert_file and key_file must be set together"},
		{tlsutil.Protocol{CertFile: cert, KeyFile: ca.KeyFile}, "failed to load cert/key pair"},
		{tlsutil.Protocol{CAFile: "/nonexistent/ca.pem"}, "ca_file:"},
		{tlsutil.Protocol{CAPath: t.TempDir()}, "no CA certificates found"},
		{tlsutil.Protocol{MinVersion: "TLSv9"}, "tls_min_version: value TLSv9 not supported"},
		{tlsutil.Protocol{CipherSuites: "TLS_NOPE"}, `unsupported cipher suite "TLS_NOPE"`},
	}
	for _, tc := range cases {
		err := tc.p.Validate("tls.https")
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestCertificateNames(t *testing.T) {
	ca := tlstest.NewCA(t)
	certFile, keyFile := ca.Cert(t, tlsutil.KindServer, "east")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if err := leaf.VerifyHostname("server.east.consul"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("client.east.consul"); err == nil {
		t.Error("a server certificate names client.east.consul")
	}
	if ip := net.ParseIP("127.0.0.1"); !leaf.IPAddresses[0].Equal(ip) {
		t.Errorf("IP SANs %v", leaf.IPAddresses)
	}
}
