package cli

import (
	"flag"
	"fmt"
	"sort"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/membership"
)

// keyring and keygen manage the gossip encryption keys, as Consul's do.

func init() {
	keygenHelp := commandHelp("keygen", `
Generates a new gossip encryption key: 32 random bytes, base64 encoded,
for the encrypt option or keyring -install.`, newFlagSet("keygen"))
	Register(Command{Name: "keygen", Synopsis: "Generates a new encryption key", Help: keygenHelp,
		Run: func(args []string, cio IO) int {
			if ok, code := parseFlags(newFlagSet("keygen"), args, keygenHelp, cio); !ok {
				return code
			}
			key, err := membership.KeyGen()
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error generating key: %s\n", err)
				return 1
			}
			fmt.Fprintln(cio.Stdout, key)
			return 0
		}})

	var hf httpFlags
	var list bool
	var install, use, remove string
	flags := func() *flag.FlagSet {
		fs := newFlagSet("keyring")
		hf.addTo(fs)
		fs.BoolVar(&list, "list", false, "List all keys currently in use within the cluster.")
		fs.StringVar(&install, "install", "", "Install a new encryption key. This will broadcast the new key to all members in the cluster.")
		fs.StringVar(&use, "use", "", "Change the primary encryption key, which is used to encrypt messages. The key must already be installed before this operation can succeed.")
		fs.StringVar(&remove, "remove", "", "Remove the given key from the cluster. This operation may only be performed on keys which are not currently the primary key.")
		return fs
	}
	help := commandHelp("keyring [options]", `
Manages the gossip encryption keys of the cluster's members: lists them,
installs a new one, makes one primary, removes one. Exactly one of -list,
-install, -use or -remove.`, flags())
	Register(Command{Name: "keyring", Synopsis: "Manages gossip layer encryption keys", Help: help,
		Run: func(args []string, cio IO) int {
			list, install, use, remove = false, "", "", ""
			fs := flags()
			if ok, code := parseFlags(fs, args, help, cio); !ok {
				return code
			}
			n := 0
			for _, given := range []bool{list, install != "", use != "", remove != ""} {
				if given {
					n++
				}
			}
			if n != 1 {
				fmt.Fprintln(cio.Stderr, "Exactly one operation must be specified")
				return 1
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			op := client.Operator()
			var err error
			switch {
			case list:
				fmt.Fprintln(cio.Stdout, "==> Gathering installed encryption keys...")
				var responses []*api.KeyringResponse
				if responses, err = op.KeyringList(hf.queryOptions()); err == nil {
					printKeyring(cio, responses)
				}
			case install != "":
				fmt.Fprintln(cio.Stdout, "==> Installing new gossip encryption key...")
				err = op.KeyringInstall(install, nil)
			case use != "":
				fmt.Fprintln(cio.Stdout, "==> Changing primary gossip encryption key...")
				err = op.KeyringUse(use, nil)
			default:
				fmt.Fprintln(cio.Stdout, "==> Removing gossip encryption key...")
				err = op.KeyringRemove(remove, nil)
			}
			if err != nil {
				fmt.Fprintf(cio.Stderr, "error: %s\n", err)
				return 1
			}
			return 0
		}})
}

// printKeyring prints each pool's keys with how many of its members hold
// them, as Consul's keyring -list does.
func printKeyring(cio IO, responses []*api.KeyringResponse) {
	for _, r := range responses {
		pool := r.Datacenter + " (LAN)"
		if r.WAN {
			pool = "WAN"
		}
		fmt.Fprintf(cio.Stdout, "\n%s:\n", pool)
		keys := make([]string, 0, len(r.Keys))
		for k := range r.Keys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(cio.Stdout, "  %s [%d/%d]\n", k, r.Keys[k], r.NumNodes)
		}
	}
}
