package cli

import (
	"fmt"
	"strings"
)

func init() {
	Register(Command{
		Name:     "kv",
		Synopsis: "Interact with the key-value store",
		Help: `Usage: {{prog}} kv <subcommand> [options] [args]

  Reads, writes and deletes entries of the agent's key-value store, and moves
  whole subtrees in and out of it as JSON. For example:

      $ {{prog}} kv put app/config/max_conns 25
      $ {{prog}} kv get app/config/max_conns
      $ {{prog}} kv get -recurse app/config
      $ {{prog}} kv delete -recurse app/config

  Run "{{prog}} kv <subcommand> -h" for a subcommand's options.`,
	})
}

// keyArg extracts the optional single KEY_OR_PREFIX argument shared by get,
// delete and export. A leading "/" is dropped because keys never start with
// one, yet users naturally type "/" or "/app" (the API client rejects them).
func keyArg(args []string, cio IO) (string, bool) {
	switch len(args) {
	case 0:
		return "", true
	case 1:
		return strings.TrimPrefix(args[0], "/"), true
	default:
		fmt.Fprintf(cio.Stderr, "Error! Too many arguments (expected 1, got %d)\n", len(args))
		return "", false
	}
}
