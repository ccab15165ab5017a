package cli

import (
	"flag"
	"fmt"
	"sort"
	"text/tabwriter"
)

func init() {
	Register(Command{Name: "operator", Synopsis: "Provides cluster-level tools for operators"})
	Register(Command{Name: "operator raft", Synopsis: "Inspects the Raft configuration"})
	var hf httpFlags
	help := commandHelp("operator raft list-peers [options]", `
Lists the Raft voters of the cluster, the leader marked.`, func() *flag.FlagSet { fs := newFlagSet("list-peers"); hf.addTo(fs); return fs }())
	Register(Command{Name: "operator raft list-peers", Synopsis: "Lists the Raft peers", Help: help,
		Run: func(args []string, cio IO) int {
			var hf httpFlags
			fs := newFlagSet("list-peers")
			hf.addTo(fs)
			if ok, code := parseFlags(fs, args, help, cio); !ok {
				return code
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			conf, err := client.Operator().RaftGetConfiguration(hf.queryOptions())
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error getting peers: %s\n", err)
				return 1
			}
			tw := tabwriter.NewWriter(cio.Stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "Node\tID\tAddress\tState\tVoter\tRaftProtocol")
			for _, s := range conf.Servers {
				state := "follower"
				if s.Leader {
					state = "leader"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", s.Node, s.ID, s.Address, state, s.Voter, s.ProtocolVersion)
			}
			tw.Flush()
			return 0
		}})

	infoHelp := commandHelp("info [options]", `
Prints the agent's state for debugging, by section (agent, raft, runtime),
as Consul's info does.`, func() *flag.FlagSet { fs := newFlagSet("info"); hf.addTo(fs); return fs }())
	Register(Command{Name: "info", Synopsis: "Prints the agent's state for debugging", Help: infoHelp,
		Run: func(args []string, cio IO) int {
			var hf httpFlags
			fs := newFlagSet("info")
			hf.addTo(fs)
			if ok, code := parseFlags(fs, args, infoHelp, cio); !ok {
				return code
			}
			client, ok := hf.connect(cio)
			if !ok {
				return 1
			}
			self, err := client.Agent().Self()
			if err != nil {
				fmt.Fprintf(cio.Stderr, "Error querying agent: %s\n", err)
				return 1
			}
			stats, _ := self["Stats"]
			sections := make([]string, 0, len(stats))
			for k := range stats {
				sections = append(sections, k)
			}
			sort.Strings(sections)
			for _, sec := range sections {
				fmt.Fprintf(cio.Stdout, "%s:\n", sec)
				values, _ := stats[sec].(map[string]any)
				keys := make([]string, 0, len(values))
				for k := range values {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(cio.Stdout, "\t%s = %v\n", k, values[k])
				}
			}
			return 0
		}})
}
