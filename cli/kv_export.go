package cli

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/hashicorp/consul/api"
)

// kvExportEntry is one element of the `kv export` / `kv import` JSON format,
// which Herald shares with Consul so exports move freely between the two.
type kvExportEntry struct {
	Key   string `json:"key"`
	Flags uint64 `json:"flags"`
	Value string `json:"value"` // base64: values are arbitrary bytes
}

type kvExportCmd struct {
	http httpFlags
}

func (c *kvExportCmd) flags() *flag.FlagSet {
	fs := newFlagSet("kv export")
	c.http.addTo(fs)
	return fs
}

var kvExportHelp = commandHelp("kv export [options] [PREFIX]", `
Writes every key under PREFIX (the whole store if omitted) to stdout as a JSON
array of {"key", "flags", "value"} objects with base64-encoded values, the
format "{{prog}} kv import" reads. Together they copy subtrees between
clusters, or between Consul and Herald:

    $ {{prog}} kv export app/ > app.json
    $ {{prog}} kv import -http-addr=other:8500 @app.json`, new(kvExportCmd).flags())

func init() {
	Register(Command{
		Name:     "kv export",
		Synopsis: "Export a subtree of the KV store as JSON",
		Help:     kvExportHelp,
		Run:      func(args []string, cio IO) int { return new(kvExportCmd).run(args, cio) },
	})
}

func (c *kvExportCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, kvExportHelp, cio); !ok {
		return code
	}
	prefix, ok := keyArg(fs.Args(), cio)
	if !ok {
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	pairs, _, err := client.KV().List(prefix, c.http.queryOptions())
	if err != nil {
		return queryFailed(cio, err)
	}
	out, err := marshalExport(pairs)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error exporting KV data: %s\n", err)
		return 1
	}
	fmt.Fprintf(cio.Stdout, "%s\n", out)
	return 0
}

// marshalExport renders pairs as Consul does: tab-indented, and "[]" rather
// than "null" when there is nothing to export.
func marshalExport(pairs api.KVPairs) ([]byte, error) {
	entries := make([]kvExportEntry, 0, len(pairs))
	for _, p := range pairs {
		entries = append(entries, kvExportEntry{
			Key:   p.Key,
			Flags: p.Flags,
			Value: base64.StdEncoding.EncodeToString(p.Value),
		})
	}
	return json.MarshalIndent(entries, "", "\t")
}
