package cli

import (
	"encoding/base64"
	"flag"
	"fmt"

	"github.com/hashicorp/consul/api"
)

type kvPutCmd struct {
	http        httpFlags
	base64      bool
	cas         bool
	flagsValue  uint64
	modifyIndex uint64
	session     string
	acquire     bool
	release     bool
}

func (c *kvPutCmd) flags() *flag.FlagSet {
	fs := newFlagSet("kv put")
	c.http.addTo(fs)
	fs.BoolVar(&c.acquire, "acquire", false,
		"Write the value and take the key's lock for the session given with "+
			"-session; the key is created if missing.")
	fs.BoolVar(&c.base64, "base64", false, "DATA is base64-encoded; store the decoded bytes.")
	fs.BoolVar(&c.cas, "cas", false,
		"Check-and-set: write only if the key's ModifyIndex still equals "+
			"-modify-index (0 means only if the key does not exist yet).")
	fs.Uint64Var(&c.flagsValue, "flags", 0,
		"Opaque unsigned 64-bit `integer` stored with the entry for clients' own use.")
	fs.Uint64Var(&c.modifyIndex, "modify-index", 0,
		"The ModifyIndex `index` the key must have for -cas to write.")
	fs.BoolVar(&c.release, "release", false,
		"Write the value and give up the key's lock held by the session given "+
			"with -session.")
	fs.StringVar(&c.session, "session", "",
		"Session `ID` for -acquire and -release.")
	return fs
}

var kvPutHelp = commandHelp("kv put [options] KEY [DATA]", `
Writes DATA to KEY, creating or replacing it. DATA may be given inline, read
from a file with @path, or read from stdin with "-"; without DATA the key is
written with an empty value.

    $ {{prog}} kv put app/config/max_conns 25
    $ {{prog}} kv put app/config/tls_cert @cert.pem
    $ echo "hello" | {{prog}} kv put app/greeting -

-cas with -modify-index updates a key only if nobody changed it since it was
read; -acquire and -release take or give up the key's lock for a session.`,
	new(kvPutCmd).flags())

func init() {
	Register(Command{
		Name:     "kv put",
		Synopsis: "Create or update a key",
		Help:     kvPutHelp,
		Run:      func(args []string, cio IO) int { return new(kvPutCmd).run(args, cio) },
	})
}

func (c *kvPutCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, kvPutHelp, cio); !ok {
		return code
	}
	fail := failer(cio.Stderr, "Error! ")

	// Check the flags before reading stdin or touching the network, so a
	// typo never consumes piped input or half-performs an operation.
	indexSet := flagWasSet(fs, "modify-index")
	switch {
	case c.acquire && c.release:
		return fail("-acquire and -release cannot be used together")
	case (c.acquire || c.release) && c.session == "":
		return fail("Missing -session (required with -acquire and -release)")
	case c.cas && (c.acquire || c.release):
		return fail("-cas cannot be combined with -acquire or -release")
	case c.cas && !indexSet:
		return fail("-cas requires -modify-index")
	case indexSet && !c.cas:
		return fail("-modify-index is only meaningful with -cas")
	}

	rest := fs.Args()
	var key string
	var data []byte
	switch len(rest) {
	case 0:
		return fail("Missing KEY argument")
	case 1:
		key = rest[0]
	case 2:
		key = rest[0]
		var err error
		if data, err = readDataArg(rest[1], cio.Stdin); err != nil {
			return fail("%s", err)
		}
	default:
		return fail("Too many arguments (expected 1 or 2, got %d)", len(rest))
	}
	if c.base64 {
		decoded, err := base64.StdEncoding.DecodeString(string(data))
		if err != nil {
			return fail("Cannot base 64 decode data: %s", err)
		}
		data = decoded
	}

	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	kv := client.KV()
	pair := &api.KVPair{
		Key:         key,
		Flags:       c.flagsValue,
		ModifyIndex: c.modifyIndex,
		Session:     c.session,
		Value:       data,
	}

	switch {
	case c.cas:
		written, _, err := kv.CAS(pair, nil)
		if err != nil {
			return fail("Did not write to %s: %s", key, err)
		}
		if !written {
			return fail("Did not write to %s: CAS failed", key)
		}
	case c.acquire:
		acquired, _, err := kv.Acquire(pair, nil)
		if err != nil {
			return fail("Failed writing data: %s", err)
		}
		if !acquired {
			return fail("Did not write to %s: lock acquisition failed", key)
		}
		fmt.Fprintf(cio.Stdout, "Success! Lock acquired on: %s\n", key)
		return 0
	case c.release:
		released, _, err := kv.Release(pair, nil)
		if err != nil {
			return fail("Failed writing data: %s", err)
		}
		if !released {
			return fail("Did not write to %s: lock release failed", key)
		}
		fmt.Fprintf(cio.Stdout, "Success! Lock released on: %s\n", key)
		return 0
	default:
		if _, err := kv.Put(pair, nil); err != nil {
			return fail("Failed writing data: %s", err)
		}
	}
	fmt.Fprintf(cio.Stdout, "Success! Data written to: %s\n", key)
	return 0
}
