package cli

import (
	"encoding/base64"
	"flag"
	"fmt"
	"io"

	"github.com/hashicorp/consul/api"
)

type kvGetCmd struct {
	http      httpFlags
	base64    bool
	detailed  bool
	keys      bool
	recurse   bool
	separator string
}

func (c *kvGetCmd) flags() *flag.FlagSet {
	fs := newFlagSet("kv get")
	c.http.addTo(fs)
	fs.BoolVar(&c.base64, "base64", false, "Print values base64-encoded.")
	fs.BoolVar(&c.detailed, "detailed", false,
		"Print the entry's metadata (indexes, flags, lock session) along with its value.")
	fs.BoolVar(&c.keys, "keys", false,
		"List the keys under the given prefix instead of reading values. Combine "+
			"with -separator to list one level at a time.")
	fs.BoolVar(&c.recurse, "recurse", false,
		"Read every key under the given prefix, printing key:value lines.")
	fs.StringVar(&c.separator, "separator", "/",
		"With -keys, stop listing at the next occurrence of this `string` after the "+
			"prefix, so that nested keys are summarised as one entry. Empty lists every key.")
	return fs
}

var kvGetHelp = commandHelp("kv get [options] [KEY_OR_PREFIX]", `
Prints the value stored at KEY. It is an error (exit code 1) if no such key
exists; a key that exists with an empty value prints an empty line.

    $ {{prog}} kv get app/config/max_conns

With -recurse, every key under the prefix is printed as key:value; with
-keys, only the key names are listed:

    $ {{prog}} kv get -recurse app/config
    $ {{prog}} kv get -keys app/`, new(kvGetCmd).flags())

func init() {
	Register(Command{
		Name:     "kv get",
		Synopsis: "Read a key, or list the keys under a prefix",
		Help:     kvGetHelp,
		Run:      func(args []string, cio IO) int { return new(kvGetCmd).run(args, cio) },
	})
}

func (c *kvGetCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, kvGetHelp, cio); !ok {
		return code
	}
	key, ok := keyArg(fs.Args(), cio)
	if !ok {
		return 1
	}
	if key == "" && !c.recurse && !c.keys {
		fmt.Fprintln(cio.Stderr, "Error! Missing KEY argument")
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	kv := client.KV()

	switch {
	case c.keys:
		keys, _, err := kv.Keys(key, c.separator, c.http.queryOptions())
		if err != nil {
			return queryFailed(cio, err)
		}
		for _, k := range keys {
			fmt.Fprintln(cio.Stdout, k)
		}
		return 0

	case c.recurse:
		pairs, _, err := kv.List(key, c.http.queryOptions())
		if err != nil {
			return queryFailed(cio, err)
		}
		for i, pair := range pairs {
			if c.detailed {
				if i > 0 {
					fmt.Fprintln(cio.Stdout)
				}
				writeDetailed(cio.Stdout, pair, c.base64)
				continue
			}
			fmt.Fprintf(cio.Stdout, "%s:%s\n", pair.Key, encodeValue(pair.Value, c.base64))
		}
		return 0

	default:
		pair, _, err := kv.Get(key, c.http.queryOptions())
		if err != nil {
			return queryFailed(cio, err)
		}
		if pair == nil {
			fmt.Fprintf(cio.Stderr, "Error! No key exists at: %s\n", key)
			return 1
		}
		if c.detailed {
			writeDetailed(cio.Stdout, pair, c.base64)
		} else {
			fmt.Fprintf(cio.Stdout, "%s\n", encodeValue(pair.Value, c.base64))
		}
		return 0
	}
}

func queryFailed(cio IO, err error) int {
	fmt.Fprintf(cio.Stderr, "Error querying agent: %s\n", err)
	return 1
}

func encodeValue(v []byte, b64 bool) string {
	if b64 {
		return base64.StdEncoding.EncodeToString(v)
	}
	return string(v)
}

// detailedLabelWidth aligns -detailed output the way Consul's does: the
// longest label ("CreateIndex", "ModifyIndex") plus six spaces.
const detailedLabelWidth = len("CreateIndex") + 6

// writeDetailed prints one entry's metadata block. Padding is computed, not
// left to a tabwriter, so tabs inside a value cannot disturb the layout.
func writeDetailed(w io.Writer, pair *api.KVPair, b64 bool) {
	session := pair.Session
	if session == "" {
		session = "-"
	}
	rows := []struct{ label, value string }{
		{"CreateIndex", fmt.Sprint(pair.CreateIndex)},
		{"Flags", fmt.Sprint(pair.Flags)},
		{"Key", pair.Key},
		{"LockIndex", fmt.Sprint(pair.LockIndex)},
		{"ModifyIndex", fmt.Sprint(pair.ModifyIndex)},
		{"Session", session},
		{"Value", encodeValue(pair.Value, b64)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s%s\n", detailedLabelWidth, r.label, r.value)
	}
}
