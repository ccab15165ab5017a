package cli

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

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

	var k keyringFlags
	help := commandHelp("keyring [options]", `
Manages the encryption keys of gossip messages. Gossip encryption is
optional; when it is on, this command lists the keys the cluster's members
hold, installs a new one, makes one primary and removes an old one: together,
a rotation of the cluster's key that never interrupts gossip.

Every operation runs on every member, servers and client agents alike,
whichever agent it is sent to; each member keeps its keyring in its data dir.

The command returns 0 when every member answered without error, and 1 when
any member failed or did not answer.`, k.flagSet())
	Register(Command{Name: "keyring", Synopsis: "Manages gossip layer encryption keys", Help: help,
		Run: func(args []string, cio IO) int {
			k = keyringFlags{}
			return k.run(args, help, cio)
		}})
}

// keyringFlags are the options of `keyring`: exactly one action (-list,
// -list-primary, -install, -use, -remove) and how to ask.
type keyringFlags struct {
	http                     httpFlags
	list, listPrimary, local bool
	install, use, remove     string
	relay                    int
}

func (k *keyringFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("keyring")
	k.http.addTo(fs)
	fs.StringVar(&k.install, "install", "", "Install a new encryption key. This will broadcast the new key to all members in the cluster.")
	fs.StringVar(&k.use, "use", "", "Change the primary encryption key, which is used to encrypt messages. The key must already be installed before this operation can succeed.")
	fs.StringVar(&k.remove, "remove", "", "Remove the given key from the cluster. This operation may only be performed on keys which are not currently the primary key.")
	fs.BoolVar(&k.list, "list", false, "List all keys currently in use within the cluster.")
	fs.BoolVar(&k.listPrimary, "list-primary", false, "List all primary keys currently in use within the cluster.")
	fs.IntVar(&k.relay, "relay-factor", 0, "Setting this to a non-zero value will cause nodes to relay their response to the operation through this many randomly-chosen other nodes in the cluster. The maximum allowed value is 5.")
	fs.BoolVar(&k.local, "local-only", false, "Setting this to true will force the keyring query to only hit local servers (no WAN traffic). This flag can only be set for list queries.")
	return fs
}

func (k *keyringFlags) run(args []string, help string, cio IO) int {
	if ok, code := parseFlags(k.flagSet(), args, help, cio); !ok {
		return code
	}
	actions := 0
	for _, given := range []bool{k.list, k.listPrimary, k.install != "", k.use != "", k.remove != ""} {
		if given {
			actions++
		}
	}
	switch actions {
	case 0:
		fmt.Fprintln(cio.Stderr, renderHelp(help, Prog(cio)))
		return 1
	case 1:
	default:
		fmt.Fprintln(cio.Stderr, "Only a single action is allowed")
		return 1
	}
	relay, err := membership.ParseRelayFactor(k.relay)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error parsing relay factor: %s\n", err)
		return 1
	}
	if err := membership.ValidateLocalOnly(k.local, k.list); err != nil {
		fmt.Fprintf(cio.Stderr, "Error validating local-only: %s\n", err)
		return 1
	}
	client, ok := k.http.connect(cio)
	if !ok {
		return 1
	}
	op := client.Operator()
	if k.list || k.listPrimary {
		what := "installed encryption keys"
		if k.listPrimary {
			what = "installed primary encryption keys"
		}
		fmt.Fprintf(cio.Stdout, "==> Gathering %s...\n", what)
		q := k.http.queryOptions()
		q.RelayFactor, q.LocalOnly = relay, k.local
		responses, err := op.KeyringList(q)
		if err != nil {
			fmt.Fprintf(cio.Stderr, "error: %s\n", err)
			return 1
		}
		for _, r := range responses {
			keys := r.Keys
			if k.listPrimary {
				keys = r.PrimaryKeys
			}
			fmt.Fprintln(cio.Stdout, formatKeyring(r, keys))
		}
		return 0
	}
	w := &api.WriteOptions{RelayFactor: relay}
	switch {
	case k.install != "":
		fmt.Fprintln(cio.Stdout, "==> Installing new gossip encryption key...")
		err = op.KeyringInstall(k.install, w)
	case k.use != "":
		fmt.Fprintln(cio.Stdout, "==> Changing primary gossip encryption key...")
		err = op.KeyringUse(k.use, w)
	default:
		fmt.Fprintln(cio.Stdout, "==> Removing gossip encryption key...")
		err = op.KeyringRemove(k.remove, w)
	}
	if err != nil {
		fmt.Fprintf(cio.Stderr, "error: %s\n", err)
		return 1
	}
	return 0
}

// formatKeyring is one pool's part of `keyring -list`, as Consul prints it:
// a blank line, the pool, the members' messages, then each key with how
// many of the pool's members hold it (keys sorted, for a stable output).
func formatKeyring(r *api.KeyringResponse, keys map[string]int) string {
	var b strings.Builder
	pool := r.Datacenter + " (LAN)"
	if r.WAN {
		pool = "WAN"
	}
	if r.Segment != "" {
		pool += " [" + r.Segment + "]"
	} else if r.Partition != "" && r.Partition != "default" {
		pool += " [partition: " + r.Partition + "]"
	}
	b.WriteString("\n" + pool + ":\n")
	for _, node := range slices.Sorted(maps.Keys(r.Messages)) {
		fmt.Fprintf(&b, "  ===> %s: %s\n", node, r.Messages[node])
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		fmt.Fprintf(&b, "  %s [%d/%d]\n", key, keys[key], r.NumNodes)
	}
	return strings.TrimRight(b.String(), "\n")
}
