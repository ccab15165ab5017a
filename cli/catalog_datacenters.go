package cli

import (
	"flag"
	"fmt"
)

type catalogDatacentersCmd struct {
	http httpFlags
}

func (c *catalogDatacentersCmd) flags() *flag.FlagSet {
	fs := newFlagSet("catalog datacenters")
	c.http.addTo(fs)
	return fs
}

var catalogDatacentersHelp = commandHelp("catalog datacenters [options]", `
Prints the name of every datacenter the agent knows of, one per line,
nearest first (by estimated round-trip time from this datacenter's servers).

    $ {{prog}} catalog datacenters`, new(catalogDatacentersCmd).flags())

func init() {
	Register(Command{
		Name:     "catalog datacenters",
		Synopsis: "List the known datacenters",
		Help:     catalogDatacentersHelp,
		Run:      func(args []string, cio IO) int { return new(catalogDatacentersCmd).run(args, cio) },
	})
}

func (c *catalogDatacentersCmd) run(args []string, cio IO) int {
	client, code, ok := startCatalogList(c.flags(), args, catalogDatacentersHelp, &c.http, cio)
	if !ok {
		return code
	}
	dcs, err := client.Catalog().Datacenters()
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error listing datacenters: %s\n", err)
		return 1
	}
	for _, dc := range dcs {
		fmt.Fprintln(cio.Stdout, dc)
	}
	return 0
}
