package cli

import (
	"flag"
	"fmt"

	"github.com/hashicorp/consul/api"
)

// join, leave and force-leave change the agent's gossip membership.

func init() {
	joinHelp := commandHelp("join [options] ADDRESS...", `
Tells the agent to join the cluster through the Serf LAN address of any
member (host or host:port, 8301 by default); with -wan, a server joins the
servers of another datacenter through the Serf WAN address of one of them
(8302 by default).`, joinFlags(new(httpFlags), new(bool)))
	Register(Command{Name: "join", Synopsis: "Tells the agent to join a cluster", Help: joinHelp,
		Run: func(args []string, cio IO) int {
			var hf httpFlags
			var wan bool
			fs := joinFlags(&hf, &wan)
			if ok, code := parseFlags(fs, args, joinHelp, cio); !ok {
				return code
			}
			if fs.NArg() == 0 {
				fmt.Fprintln(cio.Stderr, "At least one address to join must be specified.")
				return 1
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			joined := 0
			for _, addr := range fs.Args() {
				if err := client.Agent().Join(addr, wan); err != nil {
					fmt.Fprintf(cio.Stderr, "Error joining address '%s': %s\n", addr, err)
					continue
				}
				joined++
			}
			if joined == 0 {
				fmt.Fprintln(cio.Stderr, "Failed to join any nodes.")
				return 1
			}
			fmt.Fprintf(cio.Stdout, "Successfully joined cluster by contacting %d nodes.\n", joined)
			return 0
		}})

	leaveHelp := commandHelp("leave [options]", `
Tells the agent to leave the cluster gracefully and shut down.`, httpOnlyFlags("leave", new(httpFlags)))
	Register(Command{Name: "leave", Synopsis: "Gracefully leaves the cluster", Help: leaveHelp,
		Run: withAgent("leave", leaveHelp, func(client *api.Client, _ *httpFlags, cio IO) int {
			if err := client.Agent().Leave(); err != nil {
				fmt.Fprintf(cio.Stderr, "Error leaving: %s\n", err)
				return 1
			}
			fmt.Fprintln(cio.Stdout, "Graceful leave complete")
			return 0
		})})

	var prune bool
	forceHelp := commandHelp("force-leave [options] NODE", `
Moves a failed member to the left state, so that it stops being probed and
its node leaves the catalog. With -prune it is also forgotten at once. With
-wan, only the WAN pool's member NODE (<node>.<datacenter>) leaves.`, forceLeaveFlags(new(httpFlags), &prune, new(bool)))
	Register(Command{Name: "force-leave", Synopsis: "Forces a member of the cluster into the left state", Help: forceHelp,
		Run: func(args []string, cio IO) int {
			var hf httpFlags
			var prune, wan bool
			fs := forceLeaveFlags(&hf, &prune, &wan)
			if ok, code := parseFlags(fs, args, forceHelp, cio); !ok {
				return code
			}
			if fs.NArg() != 1 {
				fmt.Fprintln(cio.Stderr, "A single node name must be specified to force leave.")
				return 1
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			if err := client.Agent().ForceLeaveOpts(fs.Arg(0), api.ForceLeaveOpts{Prune: prune, WAN: wan}); err != nil {
				fmt.Fprintf(cio.Stderr, "Error force leaving: %s\n", err)
				return 1
			}
			return 0
		}})
}

func forceLeaveFlags(hf *httpFlags, prune, wan *bool) *flag.FlagSet {
	fs := httpOnlyFlags("force-leave", hf)
	fs.BoolVar(prune, "prune", false, "Remove the member from the member list at once.")
	fs.BoolVar(wan, "wan", false, "Remove the member from the WAN pool only.")
	return fs
}

func joinFlags(hf *httpFlags, wan *bool) *flag.FlagSet {
	fs := httpOnlyFlags("join", hf)
	fs.BoolVar(wan, "wan", false, "Join the servers of another datacenter through the WAN pool.")
	return fs
}
