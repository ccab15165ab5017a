package bench

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Interruptible returns a context that Ctrl+C or SIGTERM cancels, so that
// a benchmark's deferred calls stop its processes and remove their data. The
// first signal also restores the default handling: a second one kills the
// benchmark at once, and the kernel then kills its processes (see
// SysProcAttr). Call stop when done.
func Interruptible() (ctx context.Context, stop func()) {
	ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	return ctx, stop
}

// WorkDir makes a benchmark's temporary directory in tmp (the system's when
// empty). done removes it, or with keep says on stderr where it was kept.
func WorkDir(tool, tmp string, keep bool) (dir string, done func(), err error) {
	dir, err = os.MkdirTemp(tmp, tool+"-")
	if err != nil {
		return "", nil, err
	}
	if keep {
		return dir, func() { fmt.Fprintf(os.Stderr, "%s: kept %s\n", tool, dir) }, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
