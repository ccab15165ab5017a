package cli

import (
	"flag"
	"fmt"

	"github.com/hashicorp/consul/api"
)

type kvDeleteCmd struct {
	http        httpFlags
	cas         bool
	modifyIndex uint64
	recurse     bool
}

func (c *kvDeleteCmd) flags() *flag.FlagSet {
	fs := newFlagSet("kv delete")
	c.http.addTo(fs)
	fs.BoolVar(&c.cas, "cas", false,
		"Check-and-set: delete only if the key's ModifyIndex still equals -modify-index.")
	fs.Uint64Var(&c.modifyIndex, "modify-index", 0,
		"The ModifyIndex `index` the key must have for -cas to delete it.")
	fs.BoolVar(&c.recurse, "recurse", false,
		"Delete every key that starts with the given prefix.")
	return fs
}

var kvDeleteHelp = commandHelp("kv delete [options] KEY_OR_PREFIX", `
Removes KEY from the key-value store. Deleting a key that does not exist is
not an error. With -recurse, every key starting with the prefix is removed
(note that "app" also matches "application/..."; end the prefix with "/" to
stay within one folder):

    $ {{prog}} kv delete app/config/max_conns
    $ {{prog}} kv delete -recurse app/config/`, new(kvDeleteCmd).flags())

func init() {
	Register(Command{
		Name:     "kv delete",
		Synopsis: "Delete a key, or every key under a prefix",
		Help:     kvDeleteHelp,
		Run:      func(args []string, cio IO) int { return new(kvDeleteCmd).run(args, cio) },
	})
}

func (c *kvDeleteCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, kvDeleteHelp, cio); !ok {
		return code
	}
	fail := failer(cio.Stderr, "Error! ")
	key, ok := keyArg(fs.Args(), cio)
	if !ok {
		return 1
	}
	indexSet := flagWasSet(fs, "modify-index")
	switch {
	case key == "" && !c.recurse:
		return fail("Missing KEY argument")
	case c.cas && c.recurse:
		return fail("-cas cannot be combined with -recurse")
	case c.cas && !indexSet:
		return fail("-cas requires -modify-index")
	case indexSet && !c.cas:
		return fail("-modify-index is only meaningful with -cas")
	}

	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	kv := client.KV()

	switch {
	case c.recurse:
		if _, err := kv.DeleteTree(key, nil); err != nil {
			return fail("Did not delete prefix %s: %s", key, err)
		}
		fmt.Fprintf(cio.Stdout, "Success! Deleted keys with prefix: %s\n", key)
	case c.cas:
		deleted, _, err := kv.DeleteCAS(&api.KVPair{Key: key, ModifyIndex: c.modifyIndex}, nil)
		if err != nil {
			return fail("Did not delete key %s: %s", key, err)
		}
		if !deleted {
			return fail("Did not delete key %s: CAS failed", key)
		}
		fmt.Fprintf(cio.Stdout, "Success! Deleted key: %s\n", key)
	default:
		if _, err := kv.Delete(key, nil); err != nil {
			return fail("Did not delete key %s: %s", key, err)
		}
		fmt.Fprintf(cio.Stdout, "Success! Deleted key: %s\n", key)
	}
	return 0
}
