//go:build !unix

package checks

import "os/exec"

// killProcessGroupOnCancel leaves exec's default in place where there are
// no Unix process groups: cancellation kills the script process only.
func killProcessGroupOnCancel(cmd *exec.Cmd) {}
