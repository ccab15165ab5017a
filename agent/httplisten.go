package agent

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
)

// unixPrefix marks an HTTP address that is a Unix socket's path, as in
// Consul's addresses.http ("unix:///run/consul/http.sock").
const unixPrefix = "unix://"

// listenHTTP listens for the HTTP API on one of addresses.http: an IP
// address with ports.http, or a Unix socket. As Consul does, a socket file
// left by an agent that did not stop cleanly is replaced.
func (a *Agent) listenHTTP(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, unixPrefix)
	if !ok {
		return net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(a.cfg.Ports.HTTP)))
	}
	if info, err := os.Lstat(path); err == nil {
		if info.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket: not replacing it", path)
		}
		a.log.Warn("replacing the socket file of an earlier agent", "path", path)
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	return net.Listen("unix", path)
}

// httpAddrString is a listener's address in the form HTTP clients are given
// it: host:port, or unix:///path for a socket (what api.Config.Address
// and -http-addr take).
func httpAddrString(addr net.Addr) string {
	if addr.Network() == "unix" {
		return unixPrefix + addr.String()
	}
	return addr.String()
}
