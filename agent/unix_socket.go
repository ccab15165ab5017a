package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/agent/config"
)

// listenClient listens for a client interface (HTTP) on host:port, or, for
// an address "unix:///path", on that unix socket, as Consul's addresses
// allow. A socket file left by an earlier run is replaced; the socket gets
// the unix_sockets mode, user and group.
func listenClient(host string, port int, perms config.UnixSockets) (net.Listener, error) {
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := setSocketPerms(path, perms); err != nil {
		ln.Close()
		return nil, fmt.Errorf("unix_sockets for %s: %w", path, err)
	}
	return ln, nil
}

func setSocketPerms(path string, perms config.UnixSockets) error {
	if perms.Mode != "" {
		mode, err := strconv.ParseUint(perms.Mode, 8, 32)
		if err != nil {
			return fmt.Errorf("invalid mode %q", perms.Mode)
		}
		if err := os.Chmod(path, fs.FileMode(mode)); err != nil {
			return err
		}
	}
	if perms.User == "" && perms.Group == "" {
		return nil
	}
	uid, gid := -1, -1
	if perms.User != "" {
		id, err := lookupID(perms.User, func(n string) (string, error) {
			u, err := user.Lookup(n)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return fmt.Errorf("user %q: %w", perms.User, err)
		}
		uid = id
	}
	if perms.Group != "" {
		id, err := lookupID(perms.Group, func(n string) (string, error) {
			g, err := user.LookupGroup(n)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return fmt.Errorf("group %q: %w", perms.Group, err)
		}
		gid = id
	}
	return os.Lchown(path, uid, gid)
}

// lookupID takes a numeric ID as it is, and looks a name up.
func lookupID(nameOrID string, lookup func(string) (string, error)) (int, error) {
	if id, err := strconv.Atoi(nameOrID); err == nil {
		return id, nil
	}
	s, err := lookup(nameOrID)
	if err != nil {
		return 0, err
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("not a numeric ID: " + s)
	}
	return id, nil
}

// httpAddrString is a listener's address in the form HTTP clients are given
// it: host:port, or unix:///path for a socket (what api.Config.Address
// and -http-addr take).
func httpAddrString(addr net.Addr) string {
	if addr.Network() == "unix" {
		return "unix://" + addr.String()
	}
	return addr.String()
}
