package checks

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/heraldhq/herald/event"
)

// scriptWaitDelay is how long a finished script's output pipes may stay
// open (held by a child it left running in the background) before the
// runner stops waiting for them.
const scriptWaitDelay = time.Second

// scriptProber runs script checks: Args executed directly, without a
// shell, with the agent's environment. Exit code 0 is passing, 1 warning,
// anything else (or a failure to start, or a timeout) critical. The output
// is stdout and stderr together, of which the last maxOutput bytes are
// kept. At the timeout the script is killed with its whole process group
// (on Unix), so that children it spawned do not outlive it.
type scriptProber struct {
	args      []string
	timeout   time.Duration // for the output; ctx carries the deadline
	maxOutput int
}

func (p scriptProber) probe(ctx context.Context) (string, string) {
	out := newTailBuffer(p.maxOutput)
	cmd := exec.CommandContext(ctx, p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = scriptWaitDelay
	killProcessGroupOnCancel(cmd)
	err := cmd.Run()
	output := out.String()

	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg := fmt.Sprintf("Timed out (%s) running check", p.timeout)
		if output != "" {
			msg += "\n\n" + output
		}
		return event.HealthCritical, msg
	}
	if cmd.ProcessState == nil {
		// It never ran: not found, not executable, ...
		return event.HealthCritical, err.Error()
	}
	// The exit code decides even if Run also complains (about output pipes
	// a background child kept open, say).
	switch cmd.ProcessState.ExitCode() {
	case 0:
		return event.HealthPassing, output
	case 1:
		return event.HealthWarning, output
	default:
		return event.HealthCritical, output
	}
}
