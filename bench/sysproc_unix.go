//go:build unix && !linux

package bench

import "syscall"

// SysProcAttr puts a server in its own process group, so Ctrl+C on the
// terminal reaches the bench command only, which stops servers in order.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
