package cli

import (
	"flag"
	"fmt"

	"github.com/hashicorp/serf/coordinate"
)

// rtt estimates the round trip between two nodes from their network
// coordinates, as Consul's rtt does.

func init() {
	var hf httpFlags
	var wan bool
	flags := func() *flag.FlagSet {
		fs := newFlagSet("rtt")
		hf.addTo(fs)
		fs.BoolVar(&wan, "wan", false, "Use WAN coordinates instead of LAN coordinates: the servers', named node.datacenter.")
		return fs
	}
	help := commandHelp("rtt [options] node1 [node2]", `
Estimates the network round trip time between two nodes from their
network coordinates. With one node, the other is the agent's own.`, flags())
	Register(Command{Name: "rtt", Synopsis: "Estimates network round trip time between nodes", Help: help,
		Run: func(args []string, cio IO) int {
			wan = false
			fs := flags()
			if ok, code := parseFlags(fs, args, help, cio); !ok {
				return code
			}
			nodes := fs.Args()
			if len(nodes) < 1 || len(nodes) > 2 {
				fmt.Fprintln(cio.Stderr, "One or two node names must be specified")
				return 1
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			if len(nodes) == 1 {
				self, err := client.Agent().Self()
				if err != nil {
					fmt.Fprintf(cio.Stderr, "Unable to look up agent info: %s\n", err)
					return 1
				}
				name, _ := self["Config"]["NodeName"].(string)
				if wan {
					dc, _ := self["Config"]["Datacenter"].(string)
					name += "." + dc
				}
				nodes = append(nodes, name)
			}
			coords := map[string]*coordinate.Coordinate{}
			kind := "LAN"
			if wan {
				kind = "WAN"
				dcs, err := client.Coordinate().Datacenters()
				if err != nil {
					fmt.Fprintf(cio.Stderr, "Error getting coordinates: %s\n", err)
					return 1
				}
				for _, dc := range dcs {
					for _, c := range dc.Coordinates {
						coords[c.Node+"."+dc.Datacenter] = c.Coord
					}
				}
			} else {
				entries, _, err := client.Coordinate().Nodes(hf.queryOptions())
				if err != nil {
					fmt.Fprintf(cio.Stderr, "Error getting coordinates: %s\n", err)
					return 1
				}
				for _, c := range entries {
					coords[c.Node] = c.Coord
				}
			}
			a, b := coords[nodes[0]], coords[nodes[1]]
			for i, c := range []*coordinate.Coordinate{a, b} {
				if c == nil {
					fmt.Fprintf(cio.Stderr, "Could not find a coordinate for node %q\n", nodes[i])
					return 1
				}
			}
			rtt := a.DistanceTo(b)
			fmt.Fprintf(cio.Stdout, "Estimated %s <-> %s rtt: %.3f ms (using %s coordinates)\n",
				nodes[0], nodes[1], rtt.Seconds()*1000, kind)
			return 0
		}})
}
