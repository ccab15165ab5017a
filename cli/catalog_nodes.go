package cli

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

type catalogNodesCmd struct {
	http     httpFlags
	detailed bool
	filter   string
	near     string
	nodeMeta pairListFlag
	service  string
}

func (c *catalogNodesCmd) flags() *flag.FlagSet {
	fs := newFlagSet("catalog nodes")
	c.http.addTo(fs)
	fs.BoolVar(&c.detailed, "detailed", false,
		"Show full node IDs and add the nodes' tagged addresses and metadata as columns.")
	fs.StringVar(&c.filter, "filter", "",
		"Only list nodes matching this filter `expression`; @path reads it from a file "+
			"and - from stdin.")
	fs.StringVar(&c.near, "near", "",
		"Order the nodes by estimated round-trip time from the `node` with this name "+
			"(\"_agent\" for the agent's own node) instead of by name.")
	fs.Var(&c.nodeMeta, "node-meta",
		"Only list nodes with this metadata `key=value` pair. Repeat the flag to require "+
			"several pairs.")
	fs.StringVar(&c.service, "service", "",
		"Only list the nodes providing the service with this `name`, one row per instance.")
	return fs
}

var catalogNodesHelp = commandHelp("catalog nodes [options]", `
Prints a table of the nodes in the catalog of a datacenter (the agent's own
unless -datacenter says otherwise), sorted by node name:

    $ {{prog}} catalog nodes

Full IDs, tagged addresses and metadata:

    $ {{prog}} catalog nodes -detailed

Only the nodes running a service, or with some metadata:

    $ {{prog}} catalog nodes -service=web
    $ {{prog}} catalog nodes -node-meta=rack=r1`, new(catalogNodesCmd).flags())

func init() {
	Register(Command{
		Name:     "catalog nodes",
		Synopsis: "List the nodes of a datacenter",
		Help:     catalogNodesHelp,
		Run:      func(args []string, cio IO) int { return new(catalogNodesCmd).run(args, cio) },
	})
}

func (c *catalogNodesCmd) run(args []string, cio IO) int {
	client, code, ok := startCatalogList(c.flags(), args, catalogNodesHelp, &c.http, cio)
	if !ok {
		return code
	}
	if c.filter != "" {
		data, err := readDataArg(c.filter, cio.Stdin)
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Could not process filter argument: %v\n", err)
			return 1
		}
		c.filter = string(data)
	}
	q := c.http.queryOptions()
	q.Near = c.near
	q.NodeMeta = c.nodeMeta
	q.Filter = c.filter

	var nodes []*api.Node
	if c.service != "" {
		instances, _, err := client.Catalog().Service(c.service, "", q)
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Error listing nodes for service: %s\n", err)
			return 1
		}
		for _, s := range instances {
			nodes = append(nodes, &api.Node{ID: s.ID, Node: s.Node, Address: s.Address,
				Datacenter: s.Datacenter, TaggedAddresses: s.TaggedAddresses, Meta: s.NodeMeta})
		}
	} else {
		var err error
		nodes, _, err = client.Catalog().Nodes(q)
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Error listing nodes: %s\n", err)
			return 1
		}
	}
	if len(nodes) == 0 {
		// Not an error for Consul either: the query simply matched nothing.
		noMatches(cio, "nodes")
		return 0
	}
	if c.near == "" {
		sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Node < nodes[j].Node })
	}
	writeCatalogTable(cio.Stdout, nodeRows(nodes, c.detailed))
	return 0
}

// nodeRows builds Consul's node table. Without -detailed the ID is cut at
// its first dash, leaving the first group of the UUID.
func nodeRows(nodes []*api.Node, detailed bool) [][]string {
	header := []string{"Node", "ID", "Address", "DC"}
	if detailed {
		header = append(header, "TaggedAddresses", "Meta")
	}
	rows := [][]string{header}
	for _, n := range nodes {
		id := n.ID
		if !detailed {
			if i := strings.Index(id, "-"); i > 0 {
				id = id[:i]
			}
		}
		row := []string{n.Node, id, n.Address, n.Datacenter}
		if detailed {
			row = append(row, sortedPairs(n.TaggedAddresses, ", "), sortedPairs(n.Meta, ", "))
		}
		rows = append(rows, row)
	}
	return rows
}
