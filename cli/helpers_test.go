package cli

import (
	"bytes"
	"strings"
	"testing"
)

// result is what one CLI invocation produced.
type result struct {
	stdout, stderr string
	code           int
}

// invocation describes one in-process run of the CLI.
type invocation struct {
	prog  string            // defaults to "herald"
	env   map[string]string // the whole environment the command sees
	stdin string
}

func (inv invocation) run(t testing.TB, args ...string) result {
	t.Helper()
	prog := inv.prog
	if prog == "" {
		prog = "herald"
	}
	var stdout, stderr bytes.Buffer
	code := Run(prog, args, IO{
		Stdin:  strings.NewReader(inv.stdin),
		Stdout: &stdout,
		Stderr: &stderr,
		Env:    func(k string) string { return inv.env[k] },
	})
	return result{stdout.String(), stderr.String(), code}
}

// runCLI runs the CLI as "herald" with an empty environment.
func runCLI(t testing.TB, args ...string) result {
	t.Helper()
	return invocation{}.run(t, args...)
}
