package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/hcl"

	"github.com/heraldhq/herald/configentry"
	"github.com/heraldhq/herald/hclguard"
)

// Consul's `config write|read|list|delete`: the service mesh's config
// entries over /v1/config.

func init() {
	Register(Command{Name: "config", Synopsis: "Interact with Consul's Centralized Configurations"})
	Register(Command{Name: "config write", Synopsis: "Create or update a centralized config entry", Help: configWriteHelp,
		Run: func(args []string, cio IO) int { return new(configWriteCmd).run(args, cio) }})
	Register(Command{Name: "config read", Synopsis: "Read a centralized config entry", Help: configReadHelp,
		Run: func(args []string, cio IO) int { return new(configKindNameCmd).read(args, cio) }})
	Register(Command{Name: "config list", Synopsis: "List centralized config entries of a given kind", Help: configListHelp,
		Run: func(args []string, cio IO) int { return new(configKindNameCmd).list(args, cio) }})
	Register(Command{Name: "config delete", Synopsis: "Delete a centralized config entry", Help: configDeleteHelp,
		Run: func(args []string, cio IO) int { return new(configKindNameCmd).delete(args, cio) }})
}

type configWriteCmd struct {
	http        httpFlags
	cas         bool
	modifyIndex uint64
}

func (c *configWriteCmd) flags() *flag.FlagSet {
	fs := newFlagSet("config write")
	c.http.addTo(fs)
	fs.BoolVar(&c.cas, "cas", false, "Perform a Check-And-Set operation: write only if the entry's ModifyIndex is -modify-index.")
	fs.Uint64Var(&c.modifyIndex, "modify-index", 0, "The ModifyIndex `index` the entry must have for -cas (0: only if it does not exist).")
	return fs
}

var configWriteHelp = commandHelp("config write [options] FILE", `
Writes a config entry from FILE, in HCL or JSON ("-" reads standard
input):

    $ {{prog}} config write web-defaults.hcl
    $ {{prog}} config write -cas -modify-index=0 - < proxy-defaults.json`, new(configWriteCmd).flags())

// readEntryFile reads an entry from a file or standard input, HCL or JSON
// (JSON is HCL too).
func readEntryFile(path string, cio IO) (api.ConfigEntry, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(cio.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("Failed to load data: %v", err)
	}
	if err := hclguard.CheckDepth(string(data), hclguard.ConfigDepth); err != nil {
		return nil, fmt.Errorf("Failed to decode config entry input: %v", err)
	}
	var raw map[string]any
	if err := hcl.Decode(&raw, string(data)); err != nil {
		return nil, fmt.Errorf("Failed to decode config entry input: %v", err)
	}
	e, err := configentry.DecodeMap(raw)
	if err != nil {
		return nil, fmt.Errorf("Failed to decode config entry input: %v", err)
	}
	return e, nil
}

func (c *configWriteCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, configWriteHelp, cio); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(cio.Stderr, "Must provide exactly one positional argument to specify the config entry to write")
		return 1
	}
	entry, err := readEntryFile(fs.Arg(0), cio)
	if err != nil {
		fmt.Fprintln(cio.Stderr, err)
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	var written bool
	if c.cas {
		written, _, err = client.ConfigEntries().CAS(entry, c.modifyIndex, nil)
	} else {
		written, _, err = client.ConfigEntries().Set(entry, nil)
	}
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error writing config entry %s/%s: %v\n", entry.GetKind(), entry.GetName(), err)
		return 1
	}
	if !written {
		fmt.Fprintf(cio.Stderr, "Config entry not updated: %s/%s\n", entry.GetKind(), entry.GetName())
		return 1
	}
	fmt.Fprintf(cio.Stdout, "Config entry written: %s/%s\n", entry.GetKind(), entry.GetName())
	return 0
}

// configKindNameCmd holds the flags of read, list and delete.
type configKindNameCmd struct {
	http        httpFlags
	kind, name  string
	filename    string
	cas         bool
	modifyIndex uint64
}

func (c *configKindNameCmd) flags(name string, withName, deleting bool) *flag.FlagSet {
	fs := newFlagSet(name)
	c.http.addTo(fs)
	fs.StringVar(&c.kind, "kind", "", "The `kind` of config entry.")
	if withName {
		fs.StringVar(&c.name, "name", "", "The `name` of the config entry.")
	}
	if deleting {
		fs.StringVar(&c.filename, "filename", "", "The `file` of the config entry to delete (instead of -kind and -name).")
		fs.BoolVar(&c.cas, "cas", false, "Perform a Check-And-Set operation: delete only if the entry's ModifyIndex is -modify-index.")
		fs.Uint64Var(&c.modifyIndex, "modify-index", 0, "The ModifyIndex `index` the entry must have for -cas.")
	}
	return fs
}

var (
	configReadHelp = commandHelp("config read -kind KIND -name NAME [options]", `
Prints a config entry as JSON:

    $ {{prog}} config read -kind service-defaults -name web`, new(configKindNameCmd).flags("config read", true, false))
	configListHelp = commandHelp("config list -kind KIND [options]", `
Lists the names of the config entries of a kind:

    $ {{prog}} config list -kind service-defaults`, new(configKindNameCmd).flags("config list", false, false))
	configDeleteHelp = commandHelp("config delete (-kind KIND -name NAME | -filename FILE) [options]", `
Deletes a config entry:

    $ {{prog}} config delete -kind service-defaults -name web`, new(configKindNameCmd).flags("config delete", true, true))
)

func (c *configKindNameCmd) read(args []string, cio IO) int {
	fs := c.flags("config read", true, false)
	if ok, code := parseFlags(fs, args, configReadHelp, cio); !ok {
		return code
	}
	if c.kind == "" {
		fmt.Fprintln(cio.Stderr, "Must specify the -kind parameter")
		return 1
	}
	if c.name == "" {
		fmt.Fprintln(cio.Stderr, "Must specify the -name parameter")
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	entry, _, err := client.ConfigEntries().Get(c.kind, c.name, c.http.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error reading config entry %s/%s: %v\n", c.kind, c.name, err)
		return 1
	}
	out, err := json.MarshalIndent(entry, "", "    ")
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error formatting the config entry: %v\n", err)
		return 1
	}
	fmt.Fprintln(cio.Stdout, string(out))
	return 0
}

func (c *configKindNameCmd) list(args []string, cio IO) int {
	fs := c.flags("config list", false, false)
	if ok, code := parseFlags(fs, args, configListHelp, cio); !ok {
		return code
	}
	if c.kind == "" {
		fmt.Fprintln(cio.Stderr, "Must specify the -kind parameter")
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	entries, _, err := client.ConfigEntries().List(c.kind, c.http.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error listing config entries for kind %q: %v\n", c.kind, err)
		return 1
	}
	for _, e := range entries {
		fmt.Fprintln(cio.Stdout, e.GetName())
	}
	return 0
}

func (c *configKindNameCmd) delete(args []string, cio IO) int {
	fs := c.flags("config delete", true, true)
	if ok, code := parseFlags(fs, args, configDeleteHelp, cio); !ok {
		return code
	}
	if c.filename != "" {
		if c.kind != "" || c.name != "" {
			fmt.Fprintln(cio.Stderr, "filename can't be used with kind or name")
			return 1
		}
		e, err := readEntryFile(c.filename, cio)
		if err != nil {
			fmt.Fprintln(cio.Stderr, err)
			return 1
		}
		c.kind, c.name = e.GetKind(), e.GetName()
	}
	if c.kind == "" {
		fmt.Fprintln(cio.Stderr, "Must specify the -kind parameter")
		return 1
	}
	if c.name == "" {
		fmt.Fprintln(cio.Stderr, "Must specify the -name parameter")
		return 1
	}
	if flagWasSet(fs, "modify-index") && !c.cas {
		fmt.Fprintln(cio.Stderr, "Cannot specify -modify-index without -cas")
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	if c.cas {
		deleted, _, err := client.ConfigEntries().DeleteCAS(c.kind, c.name, c.modifyIndex, nil)
		if err != nil || !deleted {
			fmt.Fprintf(cio.Stderr, "Config entry not deleted: %s/%s%s\n", c.kind, c.name, errSuffix(err))
			return 1
		}
	} else if _, err := client.ConfigEntries().Delete(c.kind, c.name, nil); err != nil {
		fmt.Fprintf(cio.Stderr, "Error deleting config entry %s/%s: %v\n", c.kind, c.name, err)
		return 1
	}
	fmt.Fprintf(cio.Stdout, "Config entry deleted: %s/%s\n", c.kind, c.name)
	return 0
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + strings.TrimSpace(err.Error())
}
