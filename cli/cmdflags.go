package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns a flag set that reports nothing by itself: parseFlags
// decides where errors and help go, so output stays on the command's IO.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs. When it returns ok=false the command must
// stop and return code: 0 after printing help for -h/-help, 1 after printing
// the flag error and the help to stderr.
func parseFlags(fs *flag.FlagSet, args []string, help string, cio IO) (ok bool, code int) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return true, 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(cio.Stdout, renderHelp(help, Prog(cio)))
		return false, 0
	default:
		fmt.Fprintf(cio.Stderr, "%s\n\n%s\n", err, renderHelp(help, Prog(cio)))
		return false, 1
	}
}

// failer returns the function a command reports its usage errors with: it
// writes prefix and the formatted message on w as one line and returns 1,
// the exit status. The kv commands say "Error! " first, as Consul's do.
func failer(w io.Writer, prefix string) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(w, prefix+format+"\n", a...)
		return 1
	}
}

// flagWasSet reports whether name appeared on the command line, for flags
// whose zero value is meaningful (-modify-index=0 asks for create-only CAS).
func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// commandHelp builds a command's help text in Consul's layout: the usage
// line, an indented description, then the HTTP API options and the command's
// own options, each flag followed by its wrapped explanation.
func commandHelp(usage, description string, fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("Usage: {{prog}} " + usage + "\n\n")
	for _, line := range strings.Split(strings.TrimSpace(description), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("  " + line + "\n")
	}

	var api, own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if httpFlagNames[f.Name] {
			api = append(api, f)
		} else {
			own = append(own, f)
		}
	})
	writeFlagSection(&b, "HTTP API Options", api)
	writeFlagSection(&b, "Command Options", own)
	return strings.TrimRight(b.String(), "\n")
}

func writeFlagSection(b *strings.Builder, title string, flags []*flag.Flag) {
	if len(flags) == 0 {
		return
	}
	b.WriteString("\n" + title + "\n")
	for _, f := range flags {
		placeholder, usage := flag.UnquoteUsage(f)
		if placeholder == "" {
			fmt.Fprintf(b, "\n  -%s\n", f.Name)
		} else {
			fmt.Fprintf(b, "\n  -%s=<%s>\n", f.Name, placeholder)
		}
		for _, line := range wrap(usage, 70) {
			b.WriteString("     " + line + "\n")
		}
	}
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
