package main

import "syscall"

// sysProcAttr puts a server in its own process group (so Ctrl+C on the
// terminal reaches discobench only, which stops servers in order) and has the
// kernel kill it if discobench dies without cleaning up, e.g. on SIGKILL.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
