package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// IO is what a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env looks up an environment variable; commands never read os.Getenv
	// directly so tests can give each run its own environment.
	Env func(string) string
}

// Command is one subcommand; nested ones ("kv get") are registered with their
// full name "kv get".
//
// A Command with a nil Run is a namespace: invoking it prints its Help
// followed by the list of its subcommands. Namespaces that nobody registers
// are synthesised from the nested names, so registering one is only needed to
// give it a synopsis and help text.
type Command struct {
	Name     string
	Synopsis string
	// Help is the full help text. "{{prog}}" in it is replaced by the name
	// the binary was invoked as ("herald" or "consul").
	Help string
	Run  func(args []string, io IO) int
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Command{}
)

// Register adds a command to the CLI. It is meant to be called from init, and
// panics on an empty or duplicate name because either is a programming error
// that would otherwise silently shadow a command.
func Register(c Command) {
	name := strings.Join(strings.Fields(c.Name), " ")
	if name == "" {
		panic("cli: Register with empty command name")
	}
	c.Name = name
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("cli: command registered twice: " + name)
	}
	registry[name] = c
}

// progEnvKey is the name under which Run exposes the invoked program name
// through IO.Env. IO's shape is fixed (callers build it positionally), so the
// name travels through Env; the NUL byte makes the key impossible for a real
// environment variable to collide with.
const progEnvKey = "\x00herald.prog"

// Prog returns the name the binary was invoked as ("herald", "consul"), for
// commands whose output names the product, such as usage text and version.
func Prog(cio IO) string {
	if cio.Env != nil {
		if p := cio.Env(progEnvKey); p != "" {
			return p
		}
	}
	return "herald"
}

// Run executes the command named by the leading args and returns the process
// exit code. prog is filepath.Base(os.Args[0]).
func Run(prog string, args []string, cio IO) int {
	cio = normalizeIO(prog, cio)
	if len(args) == 0 {
		// Nothing to do is a usage error, as for Consul: the listing goes to
		// stderr and the exit code is non-zero.
		fmt.Fprint(cio.Stderr, topUsage(Prog(cio)))
		return 1
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(cio.Stdout, topUsage(Prog(cio)))
		return 0
	case "-v", "-version", "--version":
		// Consul ignores whatever follows the version flag.
		args = []string{"version"}
	}

	name, cmd, isNamespace, n := lookup(args)
	rest := args[n:]
	switch {
	case n == 0:
		fmt.Fprintf(cio.Stderr, "Unknown command: %q\n\n", args[0])
		fmt.Fprint(cio.Stderr, topUsage(Prog(cio)))
		return 1
	case isNamespace:
		return runNamespace(name, cmd, rest, cio)
	default:
		return cmd.Run(rest, cio)
	}
}

// normalizeIO fills unset streams so commands need no nil checks, and makes
// the program name reachable through Env (see progEnvKey).
func normalizeIO(prog string, cio IO) IO {
	if cio.Stdin == nil {
		cio.Stdin = strings.NewReader("")
	}
	if cio.Stdout == nil {
		cio.Stdout = io.Discard
	}
	if cio.Stderr == nil {
		cio.Stderr = io.Discard
	}
	env := cio.Env
	if prog == "" {
		prog = "herald"
	}
	cio.Env = func(key string) string {
		if key == progEnvKey {
			return prog
		}
		if env == nil {
			return ""
		}
		return env(key)
	}
	return cio
}

// lookup finds the longest registered command name, or namespace prefix of
// registered names, that matches the leading args; n is how many args it
// consumed (0 when nothing matched).
func lookup(args []string) (name string, cmd Command, isNamespace bool, n int) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	for k := len(args); k > 0; k-- {
		candidate := strings.Join(args[:k], " ")
		if c, ok := registry[candidate]; ok {
			return candidate, c, c.Run == nil, k
		}
		if hasChildrenLocked(candidate) {
			return candidate, Command{Name: candidate}, true, k
		}
	}
	return "", Command{}, false, 0
}

func hasChildrenLocked(prefix string) bool {
	for name := range registry {
		if strings.HasPrefix(name, prefix+" ") {
			return true
		}
	}
	return false
}

// runNamespace handles a name that only groups subcommands: like Consul it
// shows the subcommand list, on stdout with exit 0 when help was asked for,
// and otherwise on stderr with exit 1 (missing or unknown subcommand).
func runNamespace(name string, cmd Command, rest []string, cio IO) int {
	text := namespaceUsage(Prog(cio), name, cmd)
	if len(rest) > 0 && isHelpFlag(rest[0]) {
		fmt.Fprint(cio.Stdout, text)
		return 0
	}
	fmt.Fprint(cio.Stderr, text)
	return 1
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// entry is one line of a command listing.
type entry struct{ name, synopsis string }

// childrenOf lists the next word of every command nested directly or
// indirectly under prefix ("" for the top level), with the synopsis of the
// command registered under that word, if any.
func childrenOf(prefix string) []entry {
	registryMu.RLock()
	defer registryMu.RUnlock()
	lead := ""
	if prefix != "" {
		lead = prefix + " "
	}
	seen := map[string]bool{}
	var out []entry
	for name := range registry {
		if !strings.HasPrefix(name, lead) {
			continue
		}
		word, _, _ := strings.Cut(strings.TrimPrefix(name, lead), " ")
		if word == "" || seen[word] {
			continue
		}
		seen[word] = true
		out = append(out, entry{word, registry[lead+word].Synopsis})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// formatList renders a command listing the way Consul does: four spaces of
// indent, names padded to the longest, four spaces, then the synopsis.
func formatList(entries []entry) string {
	width := 0
	for _, e := range entries {
		width = max(width, len(e.name))
	}
	var b strings.Builder
	for _, e := range entries {
		line := fmt.Sprintf("    %-*s    %s", width, e.name, e.synopsis)
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	return b.String()
}

func topUsage(prog string) string {
	return fmt.Sprintf("Usage: %s [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n%s",
		prog, formatList(childrenOf("")))
}

func namespaceUsage(prog, name string, cmd Command) string {
	help := renderHelp(cmd.Help, prog)
	if help == "" {
		help = fmt.Sprintf("Usage: %s %s <subcommand> [options] [args]", prog, name)
	}
	return strings.TrimRight(help, "\n") + "\n\nSubcommands:\n" + formatList(childrenOf(name))
}

// renderHelp substitutes the invoked program name into a help text.
func renderHelp(help, prog string) string {
	return strings.ReplaceAll(help, "{{prog}}", prog)
}
