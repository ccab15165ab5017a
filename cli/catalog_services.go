package cli

import (
	"bytes"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
)

type catalogServicesCmd struct {
	http     httpFlags
	node     string
	nodeMeta pairListFlag
	tags     bool
}

func (c *catalogServicesCmd) flags() *flag.FlagSet {
	fs := newFlagSet("catalog services")
	c.http.addTo(fs)
	fs.StringVar(&c.node, "node", "",
		"List only the services registered on the node with this `name`.")
	fs.Var(&c.nodeMeta, "node-meta",
		"Only count services running on nodes with this metadata `key=value` pair. "+
			"Repeat the flag to require several pairs.")
	fs.BoolVar(&c.tags, "tags", false,
		"Print each service's tags, comma-separated, in a column next to its name.")
	return fs
}

var catalogServicesHelp = commandHelp("catalog services [options]", `
Prints the name of every service in the catalog of a datacenter (the
agent's own unless -datacenter says otherwise), one per line in name order:

    $ {{prog}} catalog services

With the services' tags, or only the services of one node:

    $ {{prog}} catalog services -tags
    $ {{prog}} catalog services -node=worker-01`, new(catalogServicesCmd).flags())

func init() {
	Register(Command{
		Name:     "catalog services",
		Synopsis: "List the services registered in a datacenter",
		Help:     catalogServicesHelp,
		Run:      func(args []string, cio IO) int { return new(catalogServicesCmd).run(args, cio) },
	})
}

func (c *catalogServicesCmd) run(args []string, cio IO) int {
	client, code, ok := startCatalogList(c.flags(), args, catalogServicesHelp, &c.http, cio)
	if !ok {
		return code
	}
	q := c.http.queryOptions()
	q.NodeMeta = c.nodeMeta

	var services map[string][]string
	if c.node != "" {
		node, _, err := client.Catalog().Node(c.node, q)
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Error listing services for node: %s\n", err)
			return 1
		}
		if node != nil {
			services = map[string][]string{}
			for _, s := range node.Services {
				// Several instances of one service pool their tags.
				services[s.Service] = append(services[s.Service], s.Tags...)
			}
		}
	} else {
		var err error
		services, _, err = client.Catalog().Services(q)
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Error listing services: %s\n", err)
			return 1
		}
	}
	if len(services) == 0 {
		noMatches(cio, "services")
		return 0
	}

	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	if !c.tags {
		for _, name := range names {
			fmt.Fprintln(cio.Stdout, name)
		}
		return 0
	}
	// Consul aligns the tags column with a tab writer (six spaces of padding
	// after the longest name) and trims the block as a whole, so a service
	// without tags keeps its padding unless it is the last line.
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 2, 6, ' ', 0)
	for _, name := range names {
		tags := append([]string(nil), services[name]...)
		sort.Strings(tags)
		fmt.Fprintf(tw, "%s\t%s\n", name, strings.Join(tags, ","))
	}
	tw.Flush()
	fmt.Fprintln(cio.Stdout, strings.TrimSpace(b.String()))
	return 0
}
