//go:build !linux

package main

import "syscall"

// sysProcAttr puts a server in its own process group, so Ctrl+C on the
// terminal reaches discobench only, which stops servers in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
