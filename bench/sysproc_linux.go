package bench

import "syscall"

// SysProcAttr puts a server in its own process group (so Ctrl+C on the
// terminal reaches the bench command only, which stops servers in order)
// and has the kernel kill it if the command dies without cleaning up, e.g.
// on SIGKILL.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
