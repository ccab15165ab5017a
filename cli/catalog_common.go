package cli

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

func init() {
	Register(Command{
		Name:     "catalog",
		Synopsis: "Interact with the catalog",
		Help: `Usage: {{prog}} catalog <subcommand> [options] [args]

  Reads the catalog: the datacenters, nodes and services the cluster knows
  about. For example:

      $ {{prog}} catalog datacenters
      $ {{prog}} catalog nodes -service=redis
      $ {{prog}} catalog services -tags

  Run "{{prog}} catalog <subcommand> -h" for a subcommand's options.`,
	})
}

// pairListFlag is a repeatable key=value flag (-node-meta, -meta,
// -tagged-address). Only the first "=" separates, so values may hold "=".
type pairListFlag map[string]string

func (p *pairListFlag) String() string {
	if p == nil || *p == nil {
		return ""
	}
	return sortedPairs(*p, ",")
}

func (p *pairListFlag) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("missing \"=\" in %q: expected key=value", v)
	}
	if *p == nil {
		*p = map[string]string{}
	}
	(*p)[key] = value
	return nil
}

// repeatedFlag is a repeatable flag collecting its values in order (-tag).
type repeatedFlag []string

func (l *repeatedFlag) String() string     { return strings.Join(*l, ",") }
func (l *repeatedFlag) Set(v string) error { *l = append(*l, v); return nil }

// sortedPairs renders a map as key=value items sorted by key, the form
// Consul's tables use for metadata and tagged addresses.
func sortedPairs(m map[string]string, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]string, len(keys))
	for i, k := range keys {
		items[i] = k + "=" + m[k]
	}
	return strings.Join(items, sep)
}

// writeCatalogTable prints rows in the layout of Consul's catalog tables:
// each cell trimmed of surrounding space, every column but the last padded
// to its widest cell and followed by two spaces, the last column unpadded
// (so an empty last cell leaves the separator as trailing space, as in
// Consul's output).
func writeCatalogTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			n := len([]rune(strings.TrimSpace(cell)))
			if i == len(widths) {
				widths = append(widths, n)
			} else if n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			cell = strings.TrimSpace(cell)
			if i == len(row)-1 {
				b.WriteString(cell)
				break
			}
			fmt.Fprintf(&b, "%-*s  ", widths[i], cell)
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// startCatalogList does what each of Consul's catalog list commands does
// before its query: parse args into fs, refuse positional arguments, and
// connect to the agent. With ok false the command must return code.
func startCatalogList(fs *flag.FlagSet, args []string, help string, h *httpFlags, cio IO) (client *api.Client, code int, ok bool) {
	if ok, code := parseFlags(fs, args, help, cio); !ok {
		return nil, code, false
	}
	if rest := fs.Args(); len(rest) > 0 {
		fmt.Fprintf(cio.Stderr, "Too many arguments (expected 0, got %d)\n", len(rest))
		return nil, 1, false
	}
	if client, ok = h.connect(cio); !ok {
		return nil, 1, false
	}
	return client, 0, true
}

// noMatches says, as Consul does, that a catalog list query matched no
// what ("nodes"): on stderr, and not as an error.
func noMatches(cio IO, what string) {
	fmt.Fprintf(cio.Stderr, "No %s match the given query - try expanding your search.\n", what)
}
