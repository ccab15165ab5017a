//go:build unix

package bench

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
)

// Consul is a running HashiCorp Consul server and where its HTTP API and,
// when asked for, its DNS interface listen.
type Consul struct {
	*Server
	HTTPAddr string // host:port
	HTTPPort int
	DNSAddr  string // host:port (UDP and TCP); "" when DNS is off
}

// consulArgs are the arguments of a one-server Consul cluster persisting
// under dataDir (Consul's default durability: its Raft log is fsynced on
// every commit), HTTP on httpPort, Raft/RPC on serverPort, Serf LAN on
// serfPort, DNS on dnsPort (off if not positive), every other listener
// off, so that an agent on the default ports is left alone.
func consulArgs(dataDir string, httpPort, serverPort, serfPort, dnsPort int) []string {
	dns := "-dns-port=-1"
	if dnsPort > 0 {
		dns = "-dns-port=" + strconv.Itoa(dnsPort)
	}
	return []string{"agent", "-server", "-bootstrap-expect=1",
		"-data-dir=" + dataDir, "-node=consul-bench",
		"-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port=" + strconv.Itoa(httpPort),
		"-server-port=" + strconv.Itoa(serverPort),
		"-serf-lan-port=" + strconv.Itoa(serfPort),
		"-serf-wan-port=-1", dns, "-grpc-port=-1", "-grpc-tls-port=-1",
		"-log-level=warn"}
}

// StartConsul starts `consul agent` (bin) as a one-server cluster on free
// loopback ports, its data and log under dir (consul-data, consul.log),
// with its DNS interface on a free port if dns is set (off otherwise) and
// extra arguments appended last. It returns once the process started; wait
// for it with Poll or WaitWrite.
func StartConsul(bin, dir string, dns bool, extra ...string) (*Consul, error) {
	var ports [3]int
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	dnsPort := -1
	if dns {
		p, err := FreeDNSPort()
		if err != nil {
			return nil, err
		}
		dnsPort = p
	}
	args := append(consulArgs(filepath.Join(dir, "consul-data"), ports[0], ports[1], ports[2], dnsPort), extra...)
	s, err := StartServer("consul", dir, bin, args...)
	if err != nil {
		return nil, fmt.Errorf("starting consul: %w", err)
	}
	c := &Consul{Server: s, HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), HTTPPort: ports[0]}
	if dns {
		c.DNSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(dnsPort))
	}
	return c, nil
}
