//go:build unix

package checks

import (
	"os/exec"
	"syscall"
)

// killProcessGroupOnCancel starts the script in a process group of its own
// and makes cancellation kill that whole group, so that a script that timed
// out takes its children (a hung curl, a sleep) with it.
func killProcessGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's ID is the script's PID (Setpgid with Pgid 0).
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
