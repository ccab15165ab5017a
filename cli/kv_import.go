package cli

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"
)

type kvImportCmd struct {
	http   httpFlags
	prefix string
}

func (c *kvImportCmd) flags() *flag.FlagSet {
	fs := newFlagSet("kv import")
	c.http.addTo(fs)
	fs.StringVar(&c.prefix, "prefix", "",
		"Key `prefix` to put in front of every imported key; empty imports the keys as they are.")
	return fs
}

var kvImportHelp = commandHelp("kv import [options] DATA", `
Writes the entries of a "{{prog}} kv export" document into the key-value
store, printing each key as it is written. DATA is the JSON itself, @path to
read it from a file, or "-" to read it from stdin:

    $ {{prog}} kv import @app.json
    $ {{prog}} kv export app/ | {{prog}} kv import -prefix=backup -`, new(kvImportCmd).flags())

func init() {
	Register(Command{
		Name:     "kv import",
		Synopsis: "Import KV entries from exported JSON",
		Help:     kvImportHelp,
		Run:      func(args []string, cio IO) int { return new(kvImportCmd).run(args, cio) },
	})
}

func (c *kvImportCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, kvImportHelp, cio); !ok {
		return code
	}
	fail := failer(cio.Stderr, "Error! ")
	rest := fs.Args()
	switch len(rest) {
	case 0:
		return fail("Missing DATA argument")
	case 1:
	default:
		return fail("Too many arguments (expected 1, got %d)", len(rest))
	}
	raw, err := readDataArg(rest[0], cio.Stdin)
	if err != nil {
		return fail("%s", err)
	}
	pairs, err := parseImport(raw, c.prefix)
	if err != nil {
		return fail("%s", err)
	}

	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	kv := client.KV()
	for _, p := range pairs {
		if _, err := kv.Put(p, nil); err != nil {
			return fail("Failed writing data for key %s: %s", p.Key, err)
		}
		fmt.Fprintf(cio.Stdout, "Imported: %s\n", p.Key)
	}
	return 0
}

// parseImport decodes a whole export document before anything is written, so
// a malformed file is rejected without leaving a partial import behind.
func parseImport(raw []byte, prefix string) ([]*api.KVPair, error) {
	var entries []kvExportEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("Cannot unmarshal data: %w", err)
	}
	pairs := make([]*api.KVPair, 0, len(entries))
	for _, e := range entries {
		value, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			return nil, fmt.Errorf("Cannot base 64 decode value for key %s: %w", e.Key, err)
		}
		pairs = append(pairs, &api.KVPair{Key: joinKey(prefix, e.Key), Flags: e.Flags, Value: value})
	}
	return pairs, nil
}

// joinKey puts prefix in front of key with exactly one "/" between them.
// Unlike a path join it never cleans the key, so "folder" keys ending in "/"
// (as the web UI creates) and keys with repeated slashes survive the round
// trip unchanged.
func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return strings.TrimSuffix(prefix, "/") + "/" + strings.TrimPrefix(key, "/")
}
