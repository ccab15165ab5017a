package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/tlsutil"
)

// tls ca create and tls cert create make the CA and certificates of an
// agent's tls block, in the current directory and under the file names
// Consul's commands use, so that scripts written for Consul work as they
// are.

func init() {
	Register(Command{Name: "tls", Synopsis: "Builtin helpers for creating CAs and certificates", Help: `Usage: {{prog}} tls <subcommand> [options]

  Creates a CA and the certificates signed by it for an agent's tls
  configuration (see docs/security.md):

      $ {{prog}} tls ca create
      $ {{prog}} tls cert create -server
      $ {{prog}} tls cert create -client
      $ {{prog}} tls cert create -cli`})
	Register(Command{Name: "tls ca", Synopsis: "Helpers for CAs", Help: `Usage: {{prog}} tls ca <subcommand> [options]

  Creates a certificate authority for the agents' TLS.`})
	Register(Command{Name: "tls cert", Synopsis: "Helpers for certificates", Help: `Usage: {{prog}} tls cert <subcommand> [options]

  Creates certificates for servers, client agents and the CLI.`})
	registerTLSCACreate()
	registerTLSCertCreate()
}

// caFileNames are the CA's certificate and key files for a domain:
// <domain>-agent-ca.pem and <domain>-agent-ca-key.pem, as Consul names them.
func caFileNames(domain string) (cert, key string) {
	return domain + "-agent-ca.pem", domain + "-agent-ca-key.pem"
}

func registerTLSCACreate() {
	var (
		days           int
		domain, name   string
		nameConstraint bool
		constraints    repeatedFlag
	)
	flags := func() *flag.FlagSet {
		fs := newFlagSet("tls ca create")
		fs.IntVar(&days, "days", 1825, "Number of `days` the CA is valid for.")
		fs.StringVar(&domain, "domain", "consul", "The agents' DNS `domain`; it starts the file names.")
		fs.StringVar(&name, "common-name", "", "Common `name` of the CA; a name with a random serial by default.")
		fs.BoolVar(&nameConstraint, "name-constraint", false,
			"Restrict the CA to signing names under -domain and localhost (and -additional-name-constraint).")
		fs.Var(&constraints, "additional-name-constraint",
			"Another DNS `name` the CA may sign for with -name-constraint. May be repeated.")
		return fs
	}
	help := commandHelp("tls ca create [options]", `
Creates a CA: <domain>-agent-ca.pem, its certificate, and
<domain>-agent-ca-key.pem, its private key, in the current directory.
Keep the key secret: whoever holds it can make servers.`, flags())
	Register(Command{Name: "tls ca create", Synopsis: "Create a new certificate authority", Help: help,
		Run: func(args []string, cio IO) int {
			days, domain, name, nameConstraint, constraints = 1825, "consul", "", false, nil
			fs := flags()
			if ok, code := parseFlags(fs, args, help, cio); !ok {
				return code
			}
			if fs.NArg() > 0 {
				fmt.Fprintf(cio.Stderr, "Error! Unexpected argument %q\n", fs.Arg(0))
				return 1
			}
			certFile, keyFile := caFileNames(domain)
			for _, f := range []string{certFile, keyFile} {
				if exists(f) {
					fmt.Fprintf(cio.Stderr, "==> CA file %s already exists\n", f)
					return 1
				}
			}
			certPEM, keyPEM, err := tlsutil.GenerateCA(tlsutil.CAOptions{Domain: domain, Days: days, CommonName: name,
				NameConstraint: nameConstraint, AdditionalConstraints: constraints})
			if err != nil {
				fmt.Fprintf(cio.Stderr, "==> Error generating the CA: %s\n", err)
				return 1
			}
			return saveFiles(cio, []string{certFile, keyFile}, [][]byte{certPEM, keyPEM})
		}})
}

func registerTLSCertCreate() {
	var (
		server, client, cliCert bool
		days                    int
		dc, domain, node        string
		caFile, keyFile         string
		dnsNames, ips           repeatedFlag
	)
	const placeholder = "#DOMAIN#"
	flags := func() *flag.FlagSet {
		fs := newFlagSet("tls cert create")
		fs.BoolVar(&server, "server", false, "Create a server certificate.")
		fs.BoolVar(&client, "client", false, "Create a client agent certificate.")
		fs.BoolVar(&cliCert, "cli", false, "Create a certificate for the CLI.")
		fs.IntVar(&days, "days", 365, "Number of `days` the certificate is valid for.")
		fs.StringVar(&dc, "dc", "dc1", "The `datacenter` the certificate is for.")
		fs.StringVar(&domain, "domain", "consul", "The agents' DNS `domain`.")
		fs.StringVar(&node, "node", "", "With -server, also name <node>.server.<dc>.<domain>.")
		fs.StringVar(&caFile, "ca", placeholder+"-agent-ca.pem", "The CA certificate `file`.")
		fs.StringVar(&keyFile, "key", placeholder+"-agent-ca-key.pem", "The CA key `file`.")
		fs.Var(&dnsNames, "additional-dnsname", "Another DNS `name` for the certificate. May be repeated.")
		fs.Var(&ips, "additional-ipaddress", "Another IP `address` for the certificate. May be repeated.")
		return fs
	}
	help := commandHelp("tls cert create [options]", `
Creates a certificate and its key signed by the CA that tls ca create
made: <dc>-server-<domain>-<n>.pem and <dc>-server-<domain>-<n>-key.pem
with -server (likewise "client" and "cli"), n being the first number not
in use in the current directory. A server certificate names
server.<dc>.<domain>, localhost and 127.0.0.1; Raft between servers
checks the address it dials, so add each server's own address with
-additional-ipaddress.`, flags())
	Register(Command{Name: "tls cert create", Synopsis: "Create a new certificate", Help: help,
		Run: func(args []string, cio IO) int {
			server, client, cliCert, days, dc, domain, node = false, false, false, 365, "dc1", "consul", ""
			caFile, keyFile, dnsNames, ips = placeholder+"-agent-ca.pem", placeholder+"-agent-ca-key.pem", nil, nil
			fs := flags()
			if ok, code := parseFlags(fs, args, help, cio); !ok {
				return code
			}
			if fs.NArg() > 0 {
				fmt.Fprintf(cio.Stderr, "Error! Unexpected argument %q\n", fs.Arg(0))
				return 1
			}
			var kind tlsutil.Kind
			n := 0
			for k, on := range map[tlsutil.Kind]bool{tlsutil.KindServer: server, tlsutil.KindClient: client, tlsutil.KindCLI: cliCert} {
				if on {
					kind = k
					n++
				}
			}
			if n != 1 {
				fmt.Fprintln(cio.Stderr, "==> Please provide exactly one of -server, -client or -cli")
				return 1
			}
			if node != "" && kind != tlsutil.KindServer {
				fmt.Fprintln(cio.Stderr, "==> -node requires -server")
				return 1
			}
			var addrs []net.IP
			for _, s := range ips {
				ip := net.ParseIP(s)
				if ip == nil {
					fmt.Fprintf(cio.Stderr, "==> -additional-ipaddress %q is not an IP address\n", s)
					return 1
				}
				addrs = append(addrs, ip)
			}
			caFile = strings.ReplaceAll(caFile, placeholder, domain)
			keyFile = strings.ReplaceAll(keyFile, placeholder, domain)
			caPEM, err := os.ReadFile(caFile)
			if err != nil {
				fmt.Fprintf(cio.Stderr, "==> Error reading the CA certificate: %s (create one with tls ca create, or name it with -ca)\n", err)
				return 1
			}
			caKeyPEM, err := os.ReadFile(keyFile)
			if err != nil {
				fmt.Fprintf(cio.Stderr, "==> Error reading the CA key: %s (name it with -key)\n", err)
				return 1
			}
			certPEM, keyPEM, err := tlsutil.GenerateCert(tlsutil.CertOptions{Kind: kind, Datacenter: dc, Domain: domain,
				Days: days, Node: node, DNSNames: dnsNames, IPAddresses: addrs}, caPEM, caKeyPEM)
			if err != nil {
				fmt.Fprintf(cio.Stderr, "==> Error generating the certificate: %s\n", err)
				return 1
			}
			if kind == tlsutil.KindServer {
				fmt.Fprintln(cio.Stdout, "==> WARNING: a server certificate lets its holder join the cluster as a\n"+
					"    server and read everything in it, ACL tokens included. Give it only to\n"+
					"    server hosts, and keep it as safe as the CA key.")
			}
			fmt.Fprintf(cio.Stdout, "==> Using %s and %s\n", caFile, keyFile)
			prefix := fmt.Sprintf("%s-%s-%s", dc, kind, domain)
			i := 0
			for exists(fmt.Sprintf("%s-%d.pem", prefix, i)) || exists(fmt.Sprintf("%s-%d-key.pem", prefix, i)) {
				i++
			}
			return saveFiles(cio, []string{fmt.Sprintf("%s-%d.pem", prefix, i), fmt.Sprintf("%s-%d-key.pem", prefix, i)},
				[][]byte{certPEM, keyPEM})
		}})
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// saveFiles writes each file, never over an existing one; certificates
// are world-readable, keys (every file after the first) only the owner's.
func saveFiles(cio IO, names []string, contents [][]byte) int {
	for i, name := range names {
		mode := os.FileMode(0o644)
		if i > 0 {
			mode = 0o600
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err == nil {
			_, err = f.Write(contents[i])
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(cio.Stderr, "==> Error saving %s: %s\n", name, err)
			return 1
		}
		fmt.Fprintf(cio.Stdout, "==> Saved %s\n", name)
	}
	return 0
}

// natsTLS are the options for a NATS connection to url with the TLS
// settings of the HTTP flags (-ca-file, -client-cert, -client-key,
// -tls-server-name and their CONSUL_* variables): an agent whose
// tls.internal_rpc has a certificate takes only TLS on its NATS port, and
// with verify_incoming only clients with a certificate of its CA. TLS is
// used when any of them is set or the URL is tls://.
func (h *httpFlags) natsTLS(url string, env func(string) string) ([]nats.Option, error) {
	tc := h.tlsConfig(env)
	if tc.CAFile == "" && tc.CAPath == "" && tc.CertFile == "" && !strings.HasPrefix(url, "tls://") {
		return nil, nil
	}
	cfg, err := api.SetupTLSConfig(&tc)
	if err != nil {
		return nil, err
	}
	return []nats.Option{nats.Secure(cfg)}, nil
}
