package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// readDataArg resolves a DATA argument the way Consul's kv commands do:
// "@path" is the contents of a file, "-" is all of stdin, and anything else
// is the value itself. Contents are returned byte for byte (no trimming), so
// a value piped in with a trailing newline keeps it, as with Consul.
func readDataArg(arg string, stdin io.Reader) ([]byte, error) {
	switch {
	case strings.HasPrefix(arg, "@"):
		data, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("Failed to read file: %w", err)
		}
		return data, nil
	case arg == "-":
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("Failed to read stdin: %w", err)
		}
		return data, nil
	default:
		return []byte(arg), nil
	}
}
